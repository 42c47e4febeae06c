-- ArgoCD health check for voip.twilio-operator.dev/TwilioEmergencyAddress.
-- ArgoCD runs this with the live object in the global `obj` and expects a table
-- {status = "Healthy" | "Progressing" | "Degraded", message = "..."}.
-- Keep in sync with argocd/argocd-cm.yaml: `make argocd-cm` regenerates it.
--
-- Healthy:     Ready is True and describes the current spec (observedGeneration).
-- Degraded:    Ready is False with a reason that needs a
--              human (an address Twilio refused, a number still using it on deletion).
-- Progressing: anything else: no status yet, a spec the operator has not seen,
--              transient failures the operator retries, deletion in progress
--              (Degraded if the finalizer reports DeletionBlocked or InUse).

-- Ready=False reasons that no retry fixes: a person must change the spec, the
-- credentials Secret, RBAC or the Twilio account: NEEDS_A_PERSON in
-- operator/twilio_operator/api/conditions.py, which a test keeps equal to this table.
-- Everything else (SecretNotFound, TwilioUnavailable, ProviderNotReady, ...) is
-- transient: the operator retries, so ArgoCD should wait, not alarm.
local terminal_reasons = {
  AuthFailed = true,
  AccountInactive = true,
  PermissionDenied = true,
  TwilioRejected = true,
  QuotaExceeded = true,
  SecretInvalid = true,
  SecretKeyMissing = true,
  AdoptionRefused = true,
  KubernetesRefused = true,
  TemplateInvalid = true,
  SecretNotOwned = true,
  ConfigMapNotOwned = true,
  NotFound = true,
  Conflict = true,
  Duplicate = true,
  NoNumberAvailable = true,
  AddressRequired = true,
  BundleRequired = true,
  InsufficientFunds = true,
  TrialNumberLimit = true,
  PurchaseRefused = true,
  AddressRefused = true,
  EmergencyAddressNotRegistered = true,
  InUse = true,
  LiveKitAuthFailed = true,
  LiveKitRejected = true,
}

local function find_condition(status, condition_type)
  if status == nil or status.conditions == nil then
    return nil
  end
  for _, condition in ipairs(status.conditions) do
    if condition.type == condition_type then
      return condition
    end
  end
  return nil
end

local function describe(condition, fallback)
  if condition.message ~= nil and condition.message ~= "" then
    return condition.message
  end
  return fallback
end

local function health(o)
  local metadata = o.metadata or {}
  local status = o.status
  if metadata.deletionTimestamp ~= nil then
    -- The finalizer deletes the Twilio Address once no number uses it. DeletionBlocked
    -- and InUse mean it cannot yet (the message names the numbers and how to let the
    -- object go): that needs a person.
    local ready = find_condition(status, "Ready")
    if ready ~= nil and ready.status == "False" and (ready.reason == "DeletionBlocked" or ready.reason == "InUse") then
      return { status = "Degraded", message = ready.reason .. ": " .. describe(ready, "deletion is blocked") }
    end
    return { status = "Progressing", message = "Deleting: waiting for the operator to clean up and remove its finalizer" }
  end
  if status == nil then
    return { status = "Progressing", message = "Waiting for the operator to reconcile" }
  end
  local ready = find_condition(status, "Ready")
  local observed = nil
  if ready ~= nil and ready.observedGeneration ~= nil then
    observed = ready.observedGeneration
  else
    observed = status.observedGeneration
  end
  if metadata.generation ~= nil and observed ~= metadata.generation then
    return {
      status = "Progressing",
      message = "Waiting for the operator to observe generation " .. tostring(metadata.generation),
    }
  end
  if status.verificationStatus == "failed" then
    local message = "Twilio verification failed"
    if ready ~= nil then
      message = message .. ": " .. describe(ready, ready.reason or "")
    end
    return { status = "Degraded", message = message }
  end
  if ready == nil then
    return { status = "Progressing", message = "Waiting for the Ready condition" }
  end
  if ready.status == "True" then
    return { status = "Healthy", message = describe(ready, "Ready") }
  end
  local reason = ready.reason or "Unknown"
  local message = reason .. ": " .. describe(ready, "not ready")
  if ready.status == "False" and terminal_reasons[reason] then
    return { status = "Degraded", message = message }
  end
  return { status = "Progressing", message = message }
end

return health(obj)
