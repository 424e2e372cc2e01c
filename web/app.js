// The chat page: one WebSocket to the API, replies streamed in as Markdown, conversations resumed after a
// reload or reconnect. The protocol is the README's "Message protocol" section. This module reads the settings
// and starts; the rest of the page is in:
//   state.js       what the page knows, the status line and which controls are enabled
//   connection.js  the socket: send, connect with the token, reconnect with backoff
//   frames.js      frames from the server: deltas, end, errors, API Gateway's own frames
//   view.js        the conversation view: messages, notices, the reply streaming in
//   history.js     redrawing a conversation from the server's history frames
//   composer.js    the message box and the Send, Stop, New chat and Delete chat buttons
//   sidebar.js     the conversation list beside the chat; conversations.js its requests, frames and exports
//   markdown.js    replies rendered as DOM nodes, never as HTML;  signin.js  sign-in, when the API needs a token
import { offerModels } from "./composer.js";
import "./sidebar.js";
import { connect, disconnect, reconnectNow, renew } from "./connection.js";
import { setStatus, state, updateControls, useApi } from "./state.js";

// Settings come only from the config.json served beside the page (the emulator's, or `make web-config`'s for a
// static host): the API's URL, its sign-in (outputs.Auth, outputs.UserPoolClientId) and where Cognito is. Never
// from the page's own address: a link could otherwise send the stored conversation id, the token or the password
// wherever it says (issue 23). The CSP's connect-src names the same places, so nothing else is reachable anyway.
async function loadConfig() {
  const response = await fetch("config.json", { cache: "no-store" });
  if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
  const served = await response.json();
  const outputs = served.outputs ?? {};
  const region = served.region ?? "";
  return {
    url: served.url ?? "",
    auth: outputs.Auth ?? "none", // none | cognito | oidc | token (the last two: paste a token)
    clientId: outputs.UserPoolClientId ?? "",
    models: (outputs.Models ?? "").split(",").filter(Boolean), // ModelIds: the picker's choices
    cognitoEndpoint:
      served.endpoints?.AWS_ENDPOINT_URL_COGNITO_IDP ?? (region ? `https://cognito-idp.${region}.amazonaws.com/` : ""),
  };
}

async function start() {
  let config;
  try {
    config = await loadConfig();
  } catch (error) {
    setStatus(`No settings (${error.message}): serve a config.json beside this page (make web-config)`, "error");
    return;
  }
  if (!/^wss?:\/\//.test(config.url)) {
    setStatus("config.json names no WebSocket URL (url: wss://…)", "error");
    return;
  }
  useApi(config.url);
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
