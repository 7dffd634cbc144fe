export { COMPATIBILITY_LEVELS, RegistryError, SchemaRegistryClient, valueSubject, type CompatibilityLevel, type RegistryConnection } from './client.js';
export { resolveToReader, type Resolution } from './compatibility.js';
export { frame, frameId, FRAME_HEADER_BYTES } from './framing.js';
