// openid-client 6, unmodified, signing in with the device authorization grant (RFC 8628).
// Usage: node device_login.mjs <issuer> <client_id> <client_secret or ""> <scope>
// Prints one JSON line with the device authorization response (what a device shows its user), then,
// once the user decided, one JSON line with the token response (and the ID token's claims when the
// scope holds openid) or the error openid-client raised.
// openid-client comes from the git-ignored .rp-deps/ (`make rp`, pinned there).
const client = await import(
  new URL('../../../.rp-deps/node_modules/openid-client/build/index.js', import.meta.url)
)

const [issuer, clientId, clientSecret, scope] = process.argv.slice(2)
const auth = clientSecret ? client.ClientSecretPost(clientSecret) : client.None()
// OpenID Connect discovery (no `algorithm` option); plain http in tests needs allowInsecureRequests
const config = await client.discovery(new URL(issuer), clientId, undefined, auth, {
  execute: [client.allowInsecureRequests],
})
const started = await client.initiateDeviceAuthorization(config, { scope })
console.log(JSON.stringify(started))
try {
  const tokens = await client.pollDeviceAuthorizationGrant(config, started)
  // with openid in the scope openid-client has validated the ID token (signature against the JWKS,
  // iss, aud, exp, iat); its claims are printed for the test to check further
  console.log(JSON.stringify({ tokens, claims: tokens.claims() ?? null }))
} catch (err) {
  console.log(JSON.stringify({ error: err.error ?? err.code ?? String(err) }))
}
