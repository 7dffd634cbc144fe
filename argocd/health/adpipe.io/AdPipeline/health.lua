-- Argo CD health check for adpipe.io/AdPipeline, read from the frozen condition contract
-- (docs/operator.md): Ready, Stalled, Reconciling, DataHealthy with observedGeneration, plus the
-- adpipe.io/paused annotation. Written for Argo CD's Lua 5.1 (gopher-lua); also runs on 5.3.
local hs = { status = "Progressing", message = "Waiting for the adpipe operator to report status" }

local function condition(conditions, type)
  if conditions == nil then return nil end
  for _, c in ipairs(conditions) do
    if c.type == type then return c end
  end
  return nil
end

local annotations = (obj.metadata or {}).annotations or {}
if annotations["adpipe.io/paused"] == "true" then
  hs.status = "Suspended"
  hs.message = "Reconciliation is paused by the adpipe.io/paused annotation"
  return hs
end

local status = obj.status
if status == nil or status.conditions == nil then
  return hs
end

local generation = obj.metadata.generation
if status.observedGeneration == nil or (generation ~= nil and status.observedGeneration < generation) then
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

local ready = condition(status.conditions, "Ready")
local stalled = condition(status.conditions, "Stalled")
local reconciling = condition(status.conditions, "Reconciling")

local function current(c)
  return c ~= nil and (c.observedGeneration == nil or generation == nil or c.observedGeneration >= generation)
end

if current(ready) and ready.reason == "Paused" then
  hs.status = "Suspended"
  hs.message = ready.message
  return hs
end

if current(stalled) and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = (stalled.reason or "Stalled") .. ": " .. (stalled.message or "")
  return hs
end

-- Deployed as specified, but its data is not healthy (stale, stuck, flooded with invalid records,
-- traffic gone): Degraded, so the application does not look fine while campaigns go unreported.
local data = condition(status.conditions, "DataHealthy")
if current(ready) and ready.status == "True" and data ~= nil and data.status == "False" then
  hs.status = "Degraded"
  hs.message = "DataHealthy " .. (data.reason or "False") .. ": " .. (data.message or "")
  return hs
end

if current(ready) and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or "Ready"
  return hs
end

-- Not ready: a failure being retried (Kafka or HBase unreachable, an operation refused) is
-- Degraded; anything else (workers starting, first reconcile) is still Progressing.
if current(reconciling) and reconciling.status == "True" and reconciling.reason == "RetryingAfterError" then
  hs.status = "Degraded"
  if ready ~= nil then
    hs.message = (ready.reason or "NotReady") .. ": " .. (ready.message or "")
  else
    hs.message = reconciling.message or "Retrying after an error"
  end
  return hs
end

if ready ~= nil then
  hs.message = (ready.reason or "NotReady") .. ": " .. (ready.message or "")
end
return hs
