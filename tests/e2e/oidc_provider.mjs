// A throwaway OpenID Connect provider for the browser tests, on 127.0.0.1 only.
// Its development login form accepts any login name: `kim` signs in as kim@example.com.
// Run from a folder whose node_modules holds oidc-provider@9 (.ci/run installs it).
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
const redirect = process.env.OIDC_REDIRECT;
const unverified = (process.env.OIDC_UNVERIFIED || '').split(',').filter(Boolean);

const provider = new Provider(`http://localhost:${port}`, {
  clients: [{
    client_id: 'labelkit',
    client_secret: 'labelkit-secret',
    redirect_uris: [redirect],
    post_logout_redirect_uris: [redirect, redirect.replace('/oauth2callback', '/')],
  }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: `${id}@example.com`, email_verified: !unverified.includes(id), name: id };
      },
    };
  },
  // st.user reads the ID token, so the email and name go into it.
  conformIdTokenClaims: false,
  pkce: { required: () => false },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['labelkit-tests-only'] },
});
provider.listen(port, '127.0.0.1', () => console.log(`oidc provider listening on ${port}`));
