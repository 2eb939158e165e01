// Test peer: panva's oidc-provider as "the provincial platform", an upstream OpenID provider
// of Tongxing. One process, in-memory adapter, ES256, a few fixed people.
//
//   PORT          listen port on 127.0.0.1
//   RP_BASE       Tongxing's issuer (its redirect, logout landing and back-channel URIs)
//   UPSTREAM_ID   the upstream's id at Tongxing (in those URIs)
//   CLIENT_SECRET the client secret Tongxing was given
//
// People sign in on a plain form (any password "province-pass"); the form's `acr` field
// chooses the acr of the sign-in (the test plays a person choosing a stronger method).
// For the negative tests, POST /test/fault with `kind` (tamper | expired | nonce |
// foreign-key | old-auth-time | no-auth-time | earlier-auth-time | none) makes the next token response carry a broken ID token: re-signed
// here with the provider's own key (expired, nonce) or a stranger's (foreign-key), or
// with its signature altered (tamper).
import http from 'node:http';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';

const PORT = Number(process.env.PORT);
const ISSUER = `http://127.0.0.1:${PORT}`;
const RP = process.env.RP_BASE;
const ID = process.env.UPSTREAM_ID;
const PASSWORD = 'province-pass';

const privateKey = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), alg: 'ES256', use: 'sig' };
const strangerKey = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

const PEOPLE = {
  wang: { name: '王五', id_number: '110101199003074477', phone_number: '13900000001', phone_number_verified: true },
  zhao: { name: '赵六', id_number: '350102200001012463', phone_number: '13900000002', phone_number_verified: true },
  sun: { name: '孙七', id_number: '11010519491231002X', phone_number: '13900000003', phone_number_verified: true },
  qian: { name: '钱八', phone_number: '13900000004', phone_number_verified: false },
};

const provider = new Provider(ISSUER, {
  clients: [{
    client_id: 'tongxing',
    client_secret: process.env.CLIENT_SECRET,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [`${RP}/login/upstream/${ID}/callback`],
    post_logout_redirect_uris: [`${RP}/login/upstream/${ID}/logged-out`],
    backchannel_logout_uri: `${RP}/login/upstream/${ID}/backchannel-logout`,
    backchannel_logout_session_required: true,
    id_token_signed_response_alg: 'ES256',
    scope: 'openid profile idcard phone',
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  claims: { amr: null, openid: ['sub'], profile: ['name'], idcard: ['id_number'], phone: ['phone_number', 'phone_number_verified'] },
  scopes: ['openid', 'profile', 'idcard', 'phone'],
  acrValues: ['urn:province:loa:2', 'urn:province:loa:3'],
  pkce: { required: () => true },
  ttl: {
    AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600,
    Session: 3600, Grant: 3600,
  },
  features: {
    devInteractions: { enabled: false },
    backchannelLogout: { enabled: true },
    claimsParameter: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      // Plain pages: oidc-provider's defaults load a web font from the internet.
      logoutSource: async (ctx, form) => {
        ctx.body = `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>退出</title></head><body>
<h1>退出省统一身份认证平台？</h1>${form}
<button type="submit" form="op.logoutForm" value="yes" name="logout" id="logout-yes">退出</button>
<button type="submit" form="op.logoutForm">取消</button></body></html>`;
      },
      postLogoutSuccessSource: async (ctx) => {
        ctx.body = '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>已退出</title></head><body><p id="signed-out">已退出</p></body></html>';
      },
    },
    userinfo: { enabled: true },
  },
  // oidc-provider refuses to post to special-use addresses (SSRF protection); Tongxing runs
  // on loopback in the tests, so the back-channel logout goes out without that dispatcher.
  fetch: (url, options) => globalThis.fetch(url, { ...options, dispatcher: undefined }),
  findAccount: (ctx, id) => (PEOPLE[id]
    ? { accountId: id, claims: () => ({ sub: id, ...PEOPLE[id] }) }
    : undefined),
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  renderError: (ctx, out) => {
    ctx.type = 'text/plain';
    ctx.body = `${out.error}: ${out.error_description || ''}\n`;
  },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));
provider.on('backchannel.error', (ctx, err) => console.error('backchannel.error', err.message, err.cause?.message || ''));
provider.on('backchannel.success', (ctx, client) => console.log('backchannel.success', client.clientId));

// --- faults for the negative tests -----------------------------------------------
let fault = 'none';
const b64url = (data) => Buffer.from(data).toString('base64url');

function resign(idToken, change, key, kid) {
  const [header, payload] = idToken.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url'));
  change(claims);
  const head = { ...JSON.parse(Buffer.from(header, 'base64url')), kid };
  const input = `${b64url(JSON.stringify(head))}.${b64url(JSON.stringify(claims))}`;
  const signature = crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(signature)}`;
}

function broken(idToken, kind) {
  const now = Math.floor(Date.now() / 1000);
  switch (kind) {
    case 'tamper': {
      const [h, p, s] = idToken.split('.');
      const claims = JSON.parse(Buffer.from(p, 'base64url'));
      claims.sub = 'zhao';
      return `${h}.${b64url(JSON.stringify(claims))}.${s}`;
    }
    case 'expired':
      return resign(idToken, (c) => { c.iat = now - 7200; c.exp = now - 3600; }, privateKey, signingKey.kid);
    case 'nonce':
      return resign(idToken, (c) => { c.nonce = 'not-the-nonce-you-sent'; }, privateKey, signingKey.kid);
    case 'foreign-key':
      return resign(idToken, () => {}, strangerKey, 'stranger');
    case 'old-auth-time':
      return resign(idToken, (c) => { c.auth_time = now - 3600; }, privateKey, signingKey.kid);
    case 'no-auth-time':
      return resign(idToken, (c) => { delete c.auth_time; }, privateKey, signingKey.kid);
    case 'earlier-auth-time':
      return resign(idToken, (c) => { c.auth_time = now - 100; }, privateKey, signingKey.kid);
    default:
      return idToken;
  }
}

provider.use(async (ctx, next) => {
  await next();
  if (ctx.path === '/token' && ctx.status === 200 && fault !== 'none' && ctx.body?.id_token) {
    ctx.body = { ...ctx.body, id_token: broken(ctx.body.id_token, fault) };
    fault = 'none';
  }
});

// --- interactions: a login form; consent granted at once ------------------------
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(uid, message = '') {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>省统一身份认证平台</title></head><body>
<h1>省统一身份认证平台</h1>${message ? `<p id="error">${esc(message)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}/login">
<input name="login" id="login" autocomplete="username"> <input name="password" id="password" type="password">
<input type="hidden" name="acr" value="urn:province:loa:2">
<button type="submit" id="submit">登录</button>
</form></body></html>`;
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 8192) throw new Error('body too large');
  }
  return new URLSearchParams(body);
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (req.method === 'GET' && !action) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    return res.end(loginPage(uid));
  }
  if (req.method !== 'POST' || action !== 'login') {
    res.writeHead(405);
    return res.end();
  }
  const form = await readForm(req);
  const login = form.get('login') || '';
  if (!PEOPLE[login] || form.get('password') !== PASSWORD) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    return res.end(loginPage(uid, '用户名或密码错误'));
  }
  const acr = form.get('acr') || 'urn:province:loa:2';
  const { client_id: clientId, scope = '' } = details.params;
  const grant = new provider.Grant({ accountId: login, clientId });
  grant.addOIDCScope(scope);
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, {
    login: { accountId: login, acr, amr: acr.endsWith(':3') ? ['pwd', 'otp', 'mfa'] : ['pwd'] },
    consent: { grantId },
  }, { mergeWithLastSubmission: false });
}

// --- HTTP server --------------------------------------------------------------------
const oidc = provider.callback();
const INTERACTION = /^\/interaction\/([\w-]+)(?:\/(\w+))?$/;

const server = http.createServer((req, res) => {
  const path = req.url.split('?')[0];
  if (path === '/favicon.ico') {
    res.writeHead(204);
    return res.end();
  }
  if (path === '/test/fault' && req.method === 'POST') {
    readForm(req).then((form) => {
      fault = form.get('kind') || 'none';
      res.writeHead(204);
      res.end();
    });
    return undefined;
  }
  const m = INTERACTION.exec(path);
  if (!m) return oidc(req, res);
  interaction(req, res, m[1], m[2]).catch((err) => {
    if (res.headersSent) return res.destroy();
    res.writeHead(400, { 'content-type': 'text/plain' });
    return res.end(`${err.name}: ${err.message}\n`);
  });
  return undefined;
});
server.listen(PORT, '127.0.0.1', () => {
  process.stdout.write(`upstream peer listening on ${ISSUER}\n`);
});
