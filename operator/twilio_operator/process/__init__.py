"""The operator's process: what `twilio-operator run` starts, apart from the handlers themselves.

    launch    starts kopf with the handlers (twilio_operator.handlers); with leader election on,
              only once the process holds the Lease (ports/kube/leader.py), and releases it after
              kopf has stopped
    standby   the liveness endpoint of a standby (an http.server on a thread of its own) until kopf
              serves it

handlers/ is kopf glue only and never imports this package: the process starts kopf, not the other
way round (`make lint` keeps it so, .importlinter).
"""
