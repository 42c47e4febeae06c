"""TwilioPhoneNumber: the reconcile that imports one number onto its provider's trunk (`reconcile`) and
the pure rule that decides which object owns a number asked for twice (`claims`)."""
