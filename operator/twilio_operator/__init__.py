"""twilio-operator: Twilio Elastic SIP trunks for TwilioProvider and TwilioPhoneNumber resources.

Module map, by layer (import-linter keeps the layers; see .importlinter):

    api/            pure vocabulary: models (the CRD source), regions, conditions, errors, names,
                    credentials, objects
    ports/          twilio/ and kube/: the values, the port Protocols and the adapters over the
                    client libraries; deps bundles the ports for a reconcile
    provider/       the TwilioProvider reconcile: observe, checks, provision, sip_secret, status,
                    reconcile, teardown, schedule
    phone_number/   the TwilioPhoneNumber reconcile and its claims
    handlers/       kopf glue only (kopf loads this package)
    process/        the process around kopf: its launch, leader election wiring, the standby's
                    liveness endpoint
    metrics, sharding, crdgen, cli
    emulator/       the Twilio API emulator (independent of the above)
    testing/        the local control plane harness (independent of the above)
"""

__version__ = "0.1.0"
