// The Django template's login and get_user (templates/django/main.go)
// written against Profiled's script ABI (internal/sandbox/ABI.md) without
// the Go SDK: host imports, the value encoding, statuses. It proves the
// ABI is enough for a second language; `npm run build` makes the module.

@external("profiled", "call_args") declare function call_args(): i32;
@external("profiled", "reply_read") declare function reply_read(ptr: usize, cap: u32): i32;
@external("profiled", "result_set") declare function result_set(ptr: usize, len: u32): i32;
@external("profiled", "db_query") declare function db_query(ptr: usize, len: u32): i32;
@external("profiled", "db_exec") declare function db_exec(ptr: usize, len: u32): i32;
@external("profiled", "password_verify") declare function password_verify(hp: usize, hn: u32, pp: usize, pn: u32): i32;

// Statuses (ABI.md §3.1) and errnos (§5.1).
const OK: i32 = 0, WRONG_CREDENTIALS: i32 = 1, USER_NOT_FOUND: i32 = 2, ERROR: i32 = 5, BLOCKED: i32 = 7;
const ERRNO_MISMATCH: i32 = 9;

// Value tags (§4.1).
const T_NULL: u8 = 0, T_FALSE: u8 = 1, T_TRUE: u8 = 2, T_INT: u8 = 3, T_STRING: u8 = 5, T_BYTES: u8 = 6, T_LIST: u8 = 8, T_MAP: u8 = 9;

// abort (an assertion or a runtime error) traps: the host reports a script
// error and discards the instance.
export function abortHandler(msg: usize, file: usize, line: u32, col: u32): void {
  unreachable();
}

// The ABI marker (§1).
export function profiled_abi_v1(): void {}

class Writer {
  buf: Uint8Array = new Uint8Array(256);
  n: i32 = 0;
  grow(k: i32): void {
    if (this.n + k <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.n + k) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf);
    this.buf = b;
  }
  byte(v: u8): void { this.grow(1); this.buf[this.n++] = v; }
  u32(v: u32): void { this.grow(4); store<u32>(this.buf.dataStart + this.n, v); this.n += 4; }
  raw(b: Uint8Array): void { this.grow(b.length); this.buf.set(b, this.n); this.n += b.length; }
  list(count: u32): void { this.byte(T_LIST); this.u32(count); }
  map(count: u32): void { this.byte(T_MAP); this.u32(count); }
  str(s: string): void { const b = Uint8Array.wrap(String.UTF8.encode(s)); this.byte(T_STRING); this.u32(b.length); this.raw(b); }
  key(s: string): void { const b = Uint8Array.wrap(String.UTF8.encode(s)); this.u32(b.length); this.raw(b); }
  bool(v: bool): void { this.byte(v ? T_TRUE : T_FALSE); }
  ptr(): usize { return this.buf.dataStart; }
}

class Reader {
  constructor(public b: Uint8Array, public pos: i32 = 0) {}
  ok: bool = true;
  tag(): u8 { if (this.pos >= this.b.length) { this.ok = false; return 255; } return this.b[this.pos++]; }
  u32(): u32 {
    if (this.pos + 4 > this.b.length) { this.ok = false; return 0; }
    const v = load<u32>(this.b.dataStart + this.pos); this.pos += 4; return v;
  }
  list(): u32 { if (this.tag() != T_LIST) { this.ok = false; return 0; } return this.u32(); }
  // value reads any scalar as a string ("" for NULL); lists and maps fail.
  value(): string {
    const t = this.tag();
    if (t == T_NULL) return "";
    if (t == T_FALSE) return "0";
    if (t == T_TRUE) return "1";
    if (t == T_INT) {
      if (this.pos + 8 > this.b.length) { this.ok = false; return ""; }
      const v = load<i64>(this.b.dataStart + this.pos); this.pos += 8; return v.toString();
    }
    if (t == T_STRING || t == T_BYTES) {
      const n = this.u32();
      if (!this.ok || this.pos + <i32>n > this.b.length) { this.ok = false; return ""; }
      const s = String.UTF8.decode(this.b.buffer.slice(this.pos, this.pos + <i32>n));
      this.pos += <i32>n;
      return s;
    }
    this.ok = false;
    return "";
  }
}

// reply returns the pending reply of a host call that returned n >= 0.
function reply(n: i32): Uint8Array {
  const b = new Uint8Array(n > 0 ? n : 0);
  if (n > 0) reply_read(b.dataStart, <u32>n);
  return b;
}

function args(): Reader | null {
  const n = call_args();
  if (n < 0) return null;
  const r = new Reader(reply(n));
  return r;
}

function fail(msg: string): i32 {
  const b = Uint8Array.wrap(String.UTF8.encode(msg));
  result_set(b.dataStart, b.length);
  return ERROR;
}

// A row of auth_user: id, username, email, first_name, last_name, password, is_active.
class Row { constructor(public v: string[]) {} }

function findUser(email: string, username: string): Row | null {
  const w = new Writer();
  w.list(2);
  if (email != "") {
    w.str("SELECT CAST(id AS CHAR), username, email, first_name, last_name, password, is_active FROM auth_user WHERE email = ? ORDER BY id LIMIT 1");
    w.list(1); w.str(email);
  } else {
    w.str("SELECT CAST(id AS CHAR), username, email, first_name, last_name, password, is_active FROM auth_user WHERE username = ?");
    w.list(1); w.str(username);
  }
  const n = db_query(w.ptr(), w.n);
  if (n < 0) { abortHandler(0, 0, 0, 0); }
  const r = new Reader(reply(n));
  r.list(); // [columns, rows]
  const cols = r.list();
  for (let i: u32 = 0; i < cols; i++) r.value();
  const rows = r.list();
  if (!r.ok || rows == 0) return null;
  const k = r.list();
  const v: string[] = [];
  for (let i: u32 = 0; i < k; i++) v.push(r.value());
  if (!r.ok || v.length != 7) return null;
  return new Row(v);
}

function verify(hash: string, pw: string): i32 {
  const h = Uint8Array.wrap(String.UTF8.encode(hash));
  const p = Uint8Array.wrap(String.UTF8.encode(pw));
  return password_verify(h.dataStart, h.length, p.dataStart, p.length);
}

function profile(row: Row): i32 {
  const v = row.v;
  const w = new Writer();
  w.map(6);
  w.key("user_id"); w.str(v[0]);
  w.key("username"); w.str(v[1]);
  w.key("email"); w.str(v[2]);
  w.key("given_name"); w.str(v[3]);
  w.key("family_name"); w.str(v[4]);
  w.key("name"); w.str((v[3] + " " + v[4]).trim());
  result_set(w.ptr(), w.n);
  return OK;
}

const dummyHash = "pbkdf2_sha256$600000$dummysaltdummysalt12$Tyzf9y0Quru1Bafv5OpMu/VoRf6686Sp9rIaGdRvtKw=";

export function login(): i32 {
  const a = args();
  if (a == null) return fail("no call arguments");
  const n = a.list();
  const email = a.value(), password = a.value();
  const username = n > 2 ? a.value() : "";
  if (!a.ok) return fail("malformed arguments");
  const row = findUser(email, username);
  if (row == null || row.v[5] == "" || row.v[5].startsWith("!")) {
    verify(dummyHash, password); // the same work as a wrong password
    return WRONG_CREDENTIALS;
  }
  const st = verify(row.v[5], password);
  if (st == -ERRNO_MISMATCH) return WRONG_CREDENTIALS;
  if (st < 0) return fail("password_verify failed with errno " + (-st).toString());
  if (row.v[6] == "0") return BLOCKED; // is_active = 0, only after the password matched
  return profile(row);
}

export function get_user(): i32 {
  const a = args();
  if (a == null) return fail("no call arguments");
  const n = a.list();
  const email = a.value();
  const username = n > 1 ? a.value() : "";
  if (!a.ok) return fail("malformed arguments");
  const row = findUser(email, username);
  if (row == null) return USER_NOT_FOUND;
  return profile(row);
}
