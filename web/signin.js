// Sign-in, for a stack whose $connect wants a token (config.json's outputs.Auth: cognito, oidc or token). With
// Cognito the page signs in itself (USER_PASSWORD_AUTH against the user pool's public app client) and refreshes the
// token before it expires (REFRESH_TOKEN_AUTH); any other issuer's token can be pasted. Tokens are kept for this tab
// only (sessionStorage), so a reload stays signed in and closing the tab forgets them.

const STORED = "bedrock-ws-chat.session";
const REFRESH_MARGIN_S = 300; // refresh this long before expiry: a reconnect then still has a valid token

function expiry(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const exp = JSON.parse(atob(payload)).exp;
    return typeof exp === "number" ? exp * 1000 : null;
  } catch {
    return null;
  }
}

export function setUp(config, app) {
  const $ = (id) => document.getElementById(id);
  const section = $("signin");
  const passwordForm = $("signin-password");
  const tokenForm = $("signin-token");
  const signOut = $("sign-out");
  const say = (text) => {
    $("signin-note").textContent = text;
  };
  const cognito = config.auth === "cognito" && config.clientId && config.cognitoEndpoint;
  passwordForm.hidden = !cognito;
  let session = JSON.parse(sessionStorage.getItem(STORED) ?? "null");
  let refreshTimer = 0;

  async function call(target, body) {
    const response = await fetch(config.cognitoEndpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": `AWSCognitoIdentityProviderService.${target}`,
      },
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.message ?? data.__type ?? `HTTP ${response.status}`);
    return data;
  }

  function keep(next) {
    session = next;
    if (session) sessionStorage.setItem(STORED, JSON.stringify(session));
    else sessionStorage.removeItem(STORED);
    clearTimeout(refreshTimer);
    signOut.hidden = !session;
    if (session?.refreshToken && session.expiresAt) {
      const wait = Math.max(30_000, session.expiresAt - REFRESH_MARGIN_S * 1000 - Date.now());
      refreshTimer = setTimeout(refresh, wait);
    }
  }

  function fromResult(result, refreshToken) {
    // ExpiresIn (seconds from now) rather than the token's exp: this computer's clock may be off.
    const token = result.AccessToken;
    return {
      token,
      refreshToken: result.RefreshToken ?? refreshToken,
      expiresAt: result.ExpiresIn ? Date.now() + result.ExpiresIn * 1000 : expiry(token),
    };
  }

  function valid() {
    return session !== null && (!session.expiresAt || session.expiresAt > Date.now() + 5000);
  }

  function show(text) {
    section.hidden = false;
    say(text);
    (cognito ? $("signin-user") : $("signin-paste")).focus();
  }

  function signedIn(next) {
    keep(next);
    section.hidden = true;
    say("");
    app.reconnectNow();
  }

  async function refresh() {
    if (!session?.refreshToken) return false;
    try {
      const data = await call("InitiateAuth", {
        AuthFlow: "REFRESH_TOKEN_AUTH",
        ClientId: config.clientId,
        AuthParameters: { REFRESH_TOKEN: session.refreshToken },
      });
      keep(fromResult(data.AuthenticationResult, session.refreshToken));
      app.renew(); // the open connection was let in with the old token: reopen once the reply is done
      return true;
    } catch (error) {
      keep(null);
      show(`Please sign in again (${error.message}).`);
      return false;
    }
  }

  passwordForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    say("Signing in…");
    try {
      const data = await call("InitiateAuth", {
        AuthFlow: "USER_PASSWORD_AUTH",
        ClientId: config.clientId,
        AuthParameters: { USERNAME: $("signin-user").value, PASSWORD: $("signin-secret").value },
      });
      if (!data.AuthenticationResult) {
        say(`This account needs another step first (${data.ChallengeName}); finish it with the AWS CLI.`);
        return;
      }
      $("signin-secret").value = "";
      signedIn(fromResult(data.AuthenticationResult));
    } catch (error) {
      say(`Sign-in failed: ${error.message}`);
    }
  });

  tokenForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("signin-paste").value.trim();
    $("signin-paste").value = "";
    signedIn({ token, refreshToken: null, expiresAt: expiry(token) });
  });

  // Signing out ends the refresh token too (Cognito's RevokeToken): forgetting it here alone would leave it valid
  // for 30 days to whoever copied it. Access tokens already issued still pass $connect until they expire.
  signOut.addEventListener("click", async () => {
    const refreshToken = session?.refreshToken;
    keep(null);
    app.disconnect();
    show("Signed out.");
    if (!refreshToken || !cognito) return;
    try {
      await call("RevokeToken", { Token: refreshToken, ClientId: config.clientId });
    } catch (error) {
      say(`Signed out in this tab, but the sign-in could not be revoked (${error.message}).`);
    }
  });

  keep(session);
  return {
    token: () => (valid() ? session.token : null),
    // Before connecting: true when there is a usable token, else the form is shown and connects once done.
    ready() {
      if (valid()) return true;
      if (session?.refreshToken) {
        refresh(); // connects once refreshed, or shows the form
        return false;
      }
      show(cognito ? "This chat needs you to sign in." : "This chat needs a token to connect.");
      return false;
    },
    // The handshake failed before opening (a browser is not told why: 401 and a network error look alike).
    // Returns true when the page should wait for the user rather than retry on its own.
    refused(attempts) {
      if (!valid() && session?.refreshToken) {
        refresh();
        return true;
      }
      if (!valid()) {
        keep(null);
        show("Your sign-in has expired. Sign in again.");
        return true;
      }
      if (attempts >= 2) show("The server refused the connection: the token may not be accepted here.");
      return attempts >= 3;
    },
    // An Unauthorized frame: the token that let this connection in has expired.
    expired() {
      refresh().then((ok) => ok || show("Your sign-in has expired. Sign in again."));
    },
  };
}
