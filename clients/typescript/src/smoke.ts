// Drives a running axum-users server through the client generated from its own OpenAPI
// document (openapi-typescript types + openapi-fetch): register → login (form body) →
// GET /users/me → PATCH /users/me → logout, checking every status and body. Any mismatch
// exits non-zero. Run by scripts/ts-client.sh; by hand:
//
//   AXUM_USERS_URL=http://127.0.0.1:8000 node dist/smoke.js

import createClient from "openapi-fetch";

import type { components, paths } from "./schema.js";

type UserRead = components["schemas"]["UserRead"];
type ErrorModel = components["schemas"]["ErrorModel"];
type HTTPValidationError = components["schemas"]["HTTPValidationError"];

class Mismatch extends Error {}

function expect(condition: boolean, what: string, got?: unknown): asserts condition {
  if (!condition) {
    throw new Mismatch(got === undefined ? what : `${what}; got ${JSON.stringify(got)}`);
  }
}

function expectStatus(response: Response, status: number, what: string, body?: unknown): void {
  expect(response.status === status, `${what}: status ${response.status}, expected ${status}`, body);
  console.log(`  ok: ${what} ${status}`);
}

function isErrorModel(body: unknown): body is ErrorModel {
  return typeof body === "object" && body !== null && "detail" in body && !Array.isArray(body.detail);
}

function isValidationError(body: unknown): body is HTTPValidationError {
  return typeof body === "object" && body !== null && "detail" in body && Array.isArray(body.detail);
}

function expectUser(user: UserRead, id: string | null, email: string): void {
  if (id !== null) {
    expect(user.id === id, `user id ${id}`, user);
  }
  expect(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(user.id), "a v4 UUID id", user);
  expect(user.email === email, `email ${email}`, user);
  expect(user.is_active && !user.is_superuser && !user.is_verified, "active, not superuser, not verified", user);
}

async function main(baseUrl: string): Promise<void> {
  const client = createClient<paths>({ baseUrl });
  const suffix = `${Date.now()}.${Math.floor(Math.random() * 1e6)}`;
  const email = `ts.client.${suffix}@camelot.example`;
  const renamed = `ts.client.renamed.${suffix}@camelot.example`;
  const password = "the lady of the lake, 1 sword";
  const form = { "Content-Type": "application/x-www-form-urlencoded" } as const;

  // Register.
  const registered = await client.POST("/auth/register", { body: { email, password } });
  expectStatus(registered.response, 201, "POST /auth/register", registered.error);
  expect(registered.data !== undefined, "a UserRead body");
  expectUser(registered.data, null, email);
  const id = registered.data.id;

  const again = await client.POST("/auth/register", { body: { email, password } });
  expectStatus(again.response, 400, "POST /auth/register (same email)", again.data);
  expect(
    isErrorModel(again.error) && again.error.detail === "REGISTER_USER_ALREADY_EXISTS",
    "detail REGISTER_USER_ALREADY_EXISTS",
    again.error,
  );

  // Log in: OAuth2 password form, application/x-www-form-urlencoded.
  const wrong = await client.POST("/auth/jwt/login", {
    body: { username: email, password: "not the password" },
    headers: form,
  });
  expectStatus(wrong.response, 400, "POST /auth/jwt/login (wrong password)", wrong.data);
  expect(
    isErrorModel(wrong.error) && wrong.error.detail === "LOGIN_BAD_CREDENTIALS",
    "detail LOGIN_BAD_CREDENTIALS",
    wrong.error,
  );

  const login = await client.POST("/auth/jwt/login", {
    body: { username: email, password },
    headers: form,
  });
  expectStatus(login.response, 200, "POST /auth/jwt/login", login.error);
  expect(login.data !== undefined, "a BearerResponse body");
  expect(login.data.token_type === "bearer", "token_type bearer", login.data);
  expect(login.data.access_token.split(".").length === 3, "a JWT access token", login.data);
  const auth = { Authorization: `Bearer ${login.data.access_token}` };

  // Read the current user.
  const anonymous = await client.GET("/users/me");
  expectStatus(anonymous.response, 401, "GET /users/me (no token)", anonymous.data);
  expect(isErrorModel(anonymous.error) && anonymous.error.detail === "Unauthorized", "detail Unauthorized", anonymous.error);

  const me = await client.GET("/users/me", { headers: auth });
  expectStatus(me.response, 200, "GET /users/me", me.error);
  expect(me.data !== undefined, "a UserRead body");
  expectUser(me.data, id, email);

  // Update it.
  const invalid = await client.PATCH("/users/me", { body: { email: "not an email" }, headers: auth });
  expectStatus(invalid.response, 422, "PATCH /users/me (invalid email)", invalid.data);
  expect(
    isValidationError(invalid.error) &&
      invalid.error.detail.some((item) => JSON.stringify(item.loc) === JSON.stringify(["body", "email"])),
    "a 422 item at body.email",
    invalid.error,
  );

  const patched = await client.PATCH("/users/me", { body: { email: renamed }, headers: auth });
  expectStatus(patched.response, 200, "PATCH /users/me", patched.error);
  expect(patched.data !== undefined, "a UserRead body");
  expectUser(patched.data, id, renamed);

  const reread = await client.GET("/users/me", { headers: auth });
  expectStatus(reread.response, 200, "GET /users/me (after PATCH)", reread.error);
  expect(reread.data !== undefined, "a UserRead body");
  expectUser(reread.data, id, renamed);

  const relogin = await client.POST("/auth/jwt/login", {
    body: { username: renamed, password },
    headers: form,
  });
  expectStatus(relogin.response, 200, "POST /auth/jwt/login (new email)", relogin.error);

  // Log out.
  const logout = await client.POST("/auth/jwt/logout", { headers: auth });
  expectStatus(logout.response, 204, "POST /auth/jwt/logout", logout.error);
  const anonymousLogout = await client.POST("/auth/jwt/logout");
  expectStatus(anonymousLogout.response, 401, "POST /auth/jwt/logout (no token)", anonymousLogout.data);
}

const baseUrl = process.env["AXUM_USERS_URL"];
if (baseUrl === undefined || baseUrl === "") {
  console.error("AXUM_USERS_URL is not set (e.g. http://127.0.0.1:8000)");
  process.exit(2);
}
try {
  await main(baseUrl);
  console.log("ts-client: all checks passed");
} catch (error) {
  console.error(`ts-client: FAILED: ${error instanceof Mismatch ? error.message : String(error)}`);
  process.exitCode = 1;
}
