// Sign in with Mavio through openid-client 6 (panva), unmodified: discovery with no `algorithm`
// option, an authorization URL with PKCE and a nonce, authorizationCodeGrant with expectedNonce,
// fetchUserInfo, then refreshTokenGrant. Over http://127.0.0.1 only `execute: [allowInsecureRequests]`.
//
// Driven by tests/e2e/test_oidc_relying_parties.py, one JSON object a line:
//   argv: issuer client_id client_secret redirect_uri; env RP_DEPS: where `make rp` installed it
//   prints {"authorization_url"}; reads the callback URL the browser landed on; prints the results.
import { createRequire } from 'node:module'
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'

const require = createRequire(`${process.env.RP_DEPS}/package.json`)
const client = await import(pathToFileURL(require.resolve('openid-client')).href)
const [issuer, clientId, clientSecret, redirectUri] = process.argv.slice(2)
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()

const config = await client.discovery(new URL(issuer), clientId, clientSecret, undefined, {
  execute: [client.allowInsecureRequests],
})
const verifier = client.randomPKCECodeVerifier()
const nonce = client.randomNonce()
const state = client.randomState()
const url = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri,
  scope: 'openid profile email',
  code_challenge: await client.calculatePKCECodeChallenge(verifier),
  code_challenge_method: 'S256',
  state,
  nonce,
})
console.log(JSON.stringify({ authorization_url: url.href }))

const callback = (await lines.next()).value
const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
  pkceCodeVerifier: verifier,
  expectedState: state,
  expectedNonce: nonce,
})
const claims = tokens.claims()
const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token)
console.log(JSON.stringify({
  nonce,
  claims,
  userinfo,
  refreshed_claims: refreshed.claims() ?? null,
  refreshed_access_token: Boolean(refreshed.access_token),
  metadata_issuer: config.serverMetadata().issuer,
}))
process.exit(0)
