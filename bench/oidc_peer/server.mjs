// Benchmark peer: panva's oidc-provider set up to match Tongxing's surface.
// One process, in-memory adapter, ES256 everywhere, argon2id password check.
//
//   PORT              listen port on 127.0.0.1 (default 3000)
//   PEER_ARGON2_M     argon2id memory in KiB  (default: argon2 package default, 65536)
//   PEER_ARGON2_T     argon2id iterations     (default: argon2 package default, 3)
//   PEER_ARGON2_P     argon2id parallelism    (default: argon2 package default, 4)
import http from 'node:http';
import crypto from 'node:crypto';
import argon2 from 'argon2';
import Provider from 'oidc-provider';

const PORT = Number(process.env.PORT || 3000);
const ISSUER = `http://127.0.0.1:${PORT}`;
const SEAL_RESOURCE = `${ISSUER}/seal`;

// --- signing key: fresh P-256 key per start ------------------------------
const signingKey = {
  ...crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }),
  kid: crypto.randomUUID(),
  alg: 'ES256',
  use: 'sig',
};

// --- the one account ---------------------------------------------------------
const argonOptions = { type: argon2.argon2id };
if (process.env.PEER_ARGON2_M) argonOptions.memoryCost = Number(process.env.PEER_ARGON2_M);
if (process.env.PEER_ARGON2_T) argonOptions.timeCost = Number(process.env.PEER_ARGON2_T);
if (process.env.PEER_ARGON2_P) argonOptions.parallelism = Number(process.env.PEER_ARGON2_P);

const ACCOUNT = {
  id: 'bench',
  login: 'bench',
  passwordHash: await argon2.hash('bench-password-123', argonOptions),
  claims: { name: 'Bench User', preferred_username: 'bench' },
};

// --- provider ---------------------------------------------------------------
const provider = new Provider(ISSUER, {
  clients: [
    {
      client_id: 'bench-machine',
      client_secret: 'bench-machine-secret',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'seal:sign',
    },
    {
      client_id: 'bench-web',
      client_secret: 'bench-web-secret',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1:9/cb'],
      scope: 'openid profile offline_access',
    },
  ],
  clientDefaults: { id_token_signed_response_alg: 'ES256' },
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  claims: { openid: ['sub'], profile: ['name', 'preferred_username'] },
  scopes: ['openid', 'profile', 'offline_access', 'seal:sign'], // client `scope` must be a subset
  pkce: { required: () => true }, // S256 is the only method oidc-provider 9 supports
  // oidc-provider's default lifetimes, spelled out (it prints a notice for each default used)
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 60,
    ClientCredentials: 600,
    IdToken: 3600,
    Interaction: 3600,
    RefreshToken: 14 * 24 * 3600,
    Session: 14 * 24 * 3600,
    Grant: 14 * 24 * 3600,
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    userinfo: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // client_credentials without `resource` targets the seal API; the
      // authorization-code flow gets no default resource, so its access token is the
      // opaque userinfo token (oidc-provider's default).
      defaultResource: (ctx) => (ctx.oidc.params?.grant_type === 'client_credentials' ? SEAL_RESOURCE : undefined),
      useGrantedResource: () => false,
      getResourceServerInfo: (ctx, resource) => {
        if (resource !== SEAL_RESOURCE) throw new Provider.errors.InvalidTarget();
        return {
          scope: 'seal:sign',
          audience: SEAL_RESOURCE,
          accessTokenFormat: 'jwt', // RFC 9068, typ at+jwt
          jwt: { sign: { alg: 'ES256' } },
        };
      },
    },
  },
  findAccount: (ctx, id) => (id === ACCOUNT.id
    ? { accountId: id, claims: () => ({ sub: id, ...ACCOUNT.claims }) }
    : undefined),
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  renderError: (ctx, out) => {
    ctx.type = 'text/plain';
    ctx.body = `${out.error}: ${out.error_description || ''}\n`;
  },
});
// oidc-provider writes no per-request logs; only report its internal errors
provider.on('server_error', (ctx, err) => console.error('server_error', err));

// --- minimal interaction (login form, consent granted automatically) ----------
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(uid, message = '') {
  return `<!doctype html><html><head><title>Sign in</title></head><body>
<h1>Sign in</h1>${message ? `<p>${esc(message)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}/login">
<input name="login" autocomplete="username"> <input name="password" type="password">
<button type="submit">Sign in</button>
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
  const ok = form.get('login') === ACCOUNT.login
    && await argon2.verify(ACCOUNT.passwordHash, form.get('password') || '');
  if (!ok) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    return res.end(loginPage(uid, 'Invalid username or password.'));
  }
  // Grant consent right away (first-party client): openid + profile.
  const { client_id: clientId, scope = '' } = details.params;
  const grant = new provider.Grant({ accountId: ACCOUNT.id, clientId });
  grant.addOIDCScope(scope.split(' ').filter((s) => ['openid', 'profile', 'offline_access'].includes(s)).join(' '));
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, {
    login: { accountId: ACCOUNT.id },
    consent: { grantId },
  }, { mergeWithLastSubmission: false }); // 303 to /auth/:uid (resume)
}

// --- HTTP server --------------------------------------------------------------
const oidc = provider.callback();
const INTERACTION = /^\/interaction\/([\w-]+)(?:\/(\w+))?$/;

const server = http.createServer((req, res) => {
  const m = INTERACTION.exec(req.url.split('?')[0]);
  if (!m) return oidc(req, res);
  interaction(req, res, m[1], m[2]).catch((err) => {
    if (res.headersSent) return res.destroy();
    res.writeHead(400, { 'content-type': 'text/plain' });
    res.end(`${err.name}: ${err.message}\n`);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(PORT, '127.0.0.1', () => {
  process.stdout.write(`oidc-provider peer listening on ${ISSUER}\n`);
});
