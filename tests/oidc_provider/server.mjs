// npm's oidc-provider (a certified OpenID Connect server), started by tests/oidc_provider/conftest.py.
// Listens on 127.0.0.1 (port 0 = ephemeral) and prints {"issuer": ...} as one JSON line on stdout.
// Settings come from env: OP_ACCESS_TOKEN_TTL (seconds), OP_M2M_SECRET.
import http from 'node:http';
import Provider from 'oidc-provider';

const host = process.env.OP_HOST || '127.0.0.1';
const server = http.createServer();
server.listen(Number(process.env.OP_PORT || 0), host, () => {
  const { port } = server.address();
  const issuer = `http://${host}:${port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'brickauth-native',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: ['http://127.0.0.1', 'http://localhost', 'http://127.0.0.1/callback'],
      },
      {
        client_id: 'brickauth-m2m',
        client_secret: process.env.OP_M2M_SECRET || 'm2m-secret',
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: 'api',
      },
    ],
    scopes: ['openid', 'offline_access', 'email', 'profile', 'api'],
    claims: { openid: ['sub'], email: ['email'], profile: ['name', 'preferred_username'] },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
    },
    // Like Databricks OIDC: a refresh token whenever the client may use one.
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    ttl: {
      AccessToken: Number(process.env.OP_ACCESS_TOKEN_TTL || 3600),
      ClientCredentials: Number(process.env.OP_ACCESS_TOKEN_TTL || 3600),
      AuthorizationCode: 60,
      RefreshToken: 24 * 3600,
      Grant: 24 * 3600,
      Session: 24 * 3600,
      Interaction: 600,
      IdToken: 3600,
    },
    cookies: { keys: ['brickauth-test-cookie-key'] },
    async findAccount(ctx, id) {
      return {
        accountId: id,
        async claims() {
          return { sub: id, email: id, preferred_username: id, name: `User ${id}` };
        },
      };
    },
  });
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
