import fengari from 'fengari';

/**
 * Runs an Argo CD resource health script the way Argo CD does: the resource as the global `obj`,
 * the script's returned table read as `{ status, message }`. fengari is a Lua VM in JavaScript, so
 * the check runs in tests with no interpreter to install.
 */
const { lua, lauxlib, lualib, to_luastring } = fengari;

export interface HealthStatus {
  status: string;
  message: string;
}

/** A Lua table constructor for a JSON value (the shape Argo CD hands to health scripts). */
export function toLuaLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'boolean' || typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `{${value.map(toLuaLiteral).join(',')}}`;
  return `{${Object.entries(value as Record<string, unknown>)
    .map(([key, v]) => `[${JSON.stringify(key)}]=${toLuaLiteral(v)}`)
    .join(',')}}`;
}

export function runHealthScript(script: string, obj: unknown): HealthStatus {
  const L = lauxlib.luaL_newstate();
  lualib.luaL_openlibs(L);
  const code = `obj = ${toLuaLiteral(obj)}\nlocal function check()\n${script}\nend\nreturn check()`;
  if (lauxlib.luaL_loadstring(L, to_luastring(code)) !== lua.LUA_OK || lua.lua_pcall(L, 0, 1, 0) !== lua.LUA_OK) {
    throw new Error(`health.lua failed: ${lua.lua_tojsstring(L, -1)}`);
  }
  const field = (name: string) => {
    lua.lua_getfield(L, -1, to_luastring(name));
    const text = lua.lua_isstring(L, -1) ? lua.lua_tojsstring(L, -1) : '';
    lua.lua_pop(L, 1);
    return text;
  };
  return { status: field('status'), message: field('message') };
}
