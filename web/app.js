// The chat page: one WebSocket to the API, replies streamed in as Markdown, conversations resumed after a
// reload or reconnect. The protocol is the README's "Message protocol" section. This module reads the settings
// and starts; the rest of the page is in:
//   state.js       what the page knows, the status line and which controls are enabled
//   connection.js  the socket: send, connect with the token, reconnect with backoff
//   frames.js      frames from the server: deltas, end, errors, API Gateway's own frames
//   view.js        the conversation view: messages, notices, the reply streaming in
//   history.js     redrawing a conversation from the server's history frames
//   composer.js    the message box and the Send, Stop, New chat and Delete chat buttons
//   markdown.js    replies rendered as DOM nodes, never as HTML;  signin.js  sign-in, when the API needs a token
import { offerModels } from "./composer.js";
import { connect, disconnect, reconnectNow, renew } from "./connection.js";
import { setStatus, state, updateControls } from "./state.js";

// Settings: the page's query string (?url=wss://…&auth=cognito&clientId=…&region=…&models=a,b), over the config.json served
// beside the page (the emulator's describes its stack: url, region, outputs, local AWS endpoints).
async function loadConfig() {
  const params = Object.fromEntries(new URLSearchParams(location.search));
  let served = {};
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    if (response.ok) served = await response.json();
  } catch {
    // no config.json: the query string must say where the API is
  }
  const outputs = served.outputs ?? {};
  const region = params.region ?? served.region ?? "";
  return {
    url: params.url ?? served.url ?? "",
    auth: params.auth ?? outputs.Auth ?? "none", // none | cognito | oidc | token (paste one)
    clientId: params.clientId ?? outputs.UserPoolClientId ?? "",
    models: (params.models ?? outputs.Models ?? "").split(",").filter(Boolean),
    cognitoEndpoint:
      params.cognitoEndpoint ??
      served.endpoints?.AWS_ENDPOINT_URL_COGNITO_IDP ??
      (region ? `https://cognito-idp.${region}.amazonaws.com/` : ""),
  };
}

async function start() {
  const config = await loadConfig();
  if (!/^wss?:\/\//.test(config.url)) {
    setStatus("No WebSocket URL: open this page with ?url=wss://…", "error");
    return;
  }
  state.url = config.url;
  offerModels(config.models);
  if (config.auth !== "none") {
    const module = await import("./signin.js");
    state.signIn = module.setUp(config, { reconnectNow, renew, disconnect });
    if (!state.signIn.ready()) {
      setStatus("Not connected: sign in below", "warn");
      return; // the form connects once signed in
    }
  }
  connect();
}

updateControls();
start();
