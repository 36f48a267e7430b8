"""Generic OAuth 2.0 pieces for user sign-in: PKCE (RFC 7636), the loopback redirect (RFC 8252),
server metadata (RFC 8414), the token endpoint client and the browser landing pages."""
