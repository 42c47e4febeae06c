"""The operator's process: what `twilio-operator run` starts, apart from the handlers themselves.

    launch      starts kopf with the handlers (twilio_operator.handlers); with leader election on,
                only once the process holds the Lease (ports/kube/leader.py), and releases it after
                kopf has stopped
    index_gate  kopf's wait for complete indexes, without waking every waiter at every object
                (kopf's own costs N x N wake-ups when N objects are met at once)
    standby     the liveness endpoint of a standby (an http.server on a thread of its own) until
                kopf serves it

handlers/ is kopf glue only and never imports this package: the process starts kopf, not the other
way round (`make lint` keeps it so, .importlinter).
"""
