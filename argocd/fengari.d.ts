// Types for the part of fengari (a Lua 5.3 VM in JavaScript) that argocd/lua.ts uses.
declare module 'fengari' {
  type LuaState = { readonly __luaState: unique symbol };
  const fengari: {
    lua: {
      LUA_OK: number;
      lua_pcall(L: LuaState, nargs: number, nresults: number, msgh: number): number;
      lua_getfield(L: LuaState, index: number, key: Uint8Array): number;
      lua_isstring(L: LuaState, index: number): boolean;
      lua_tojsstring(L: LuaState, index: number): string;
      lua_pop(L: LuaState, n: number): void;
    };
    lauxlib: { luaL_newstate(): LuaState; luaL_loadstring(L: LuaState, code: Uint8Array): number };
    lualib: { luaL_openlibs(L: LuaState): void };
    to_luastring(text: string): Uint8Array;
  };
  export default fengari;
}
