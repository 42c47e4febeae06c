"""TwilioProvider: one level-based reconcile (`reconcile`) that observes Twilio (`observe`), decides with
pure checks (`checks`), provisions what is missing (`provision`, `sip_secret`) and writes status
(`status`); `teardown` runs on deletion; `schedule` says when the next verification is due."""
