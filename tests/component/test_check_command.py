"""`twilio-operator check` against the emulator: the verdict table, the exit code, and no writes."""

from __future__ import annotations

import os
import subprocess
import sys

from fixtures.emulator import TwilioAccount, last_seq
from twilio_operator.emulator.client import EmulatorAdmin


def check(
    emulator: EmulatorAdmin, env: dict[str, str], *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}
    return subprocess.run(
        [sys.executable, "-m", "twilio_operator.cli", "check", *args],
        env={**clean, "TWILIO_OPERATOR_TWILIO_BASE_URL": emulator.base_url, **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def rows(output: str) -> dict[str, str]:
    return {line.split()[0]: line.split()[1] for line in output.splitlines()[1:] if line.strip()}


def test_auth_token_passes_and_makes_no_writes(
    emulator: EmulatorAdmin, twilio_account: TwilioAccount
) -> None:
    seq = last_seq(emulator)
    done = check(
        emulator,
        {"TWILIO_ACCOUNT_SID": twilio_account.sid, "TWILIO_AUTH_TOKEN": twilio_account.auth_token},
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert rows(done.stdout) == {
        "accountActive": "passed",
        "sipTrunkingAccess": "passed",
        "credentialListAccess": "passed",
        "phoneNumbersAccess": "passed",
        "trunkQuota": "passed",
        "credentialListQuota": "passed",
        "numberPurchase": "passed",
    }
    assert "balance 1000.00 USD: the account can buy numbers" in done.stdout
    requests = emulator.requests(since=seq)
    assert requests and all(r["method"] == "GET" and not r["write"] for r in requests)
    assert twilio_account.auth_token not in done.stdout + done.stderr


def test_standard_key_on_stdin_is_skipped_not_failed(
    emulator: EmulatorAdmin, twilio_account: TwilioAccount
) -> None:
    key = emulator.add_api_key(twilio_account.sid, type="standard")
    seq = last_seq(emulator)
    done = check(
        emulator,
        {"TWILIO_ACCOUNT_SID": twilio_account.sid},
        "--api-key-sid",
        key["sid"],
        "--secret-stdin",
        stdin=key["secret"] + "\n",
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert rows(done.stdout)["accountActive"] == "skipped"
    assert "Standard API key" in done.stdout
    assert all(not r["write"] for r in emulator.requests(since=seq))
    assert key["secret"] not in done.stdout + done.stderr


def test_wrong_region_fails_with_a_fix(emulator: EmulatorAdmin) -> None:
    account = TwilioAccount.create(emulator, api_keys=[{}])  # us1 credentials only
    done = check(
        emulator,
        {"TWILIO_ACCOUNT_SID": account.sid, "TWILIO_AUTH_TOKEN": account.auth_token},
        "--region",
        "ie1",
    )

    assert done.returncode == 1
    assert rows(done.stdout)["accountActive"] == "failed"
    assert "only in the region that created them" in done.stdout
    assert "provisioning would fail" in done.stderr


def test_no_secret_flag_and_missing_secret(emulator: EmulatorAdmin, twilio_account: TwilioAccount) -> None:
    done = check(emulator, {"TWILIO_ACCOUNT_SID": twilio_account.sid})
    assert done.returncode == 2 and "TWILIO_AUTH_TOKEN" in done.stderr
    assert check(emulator, {}, "--auth-token", "x").returncode == 2  # argparse: no such flag


def test_a_read_only_restricted_key_is_not_a_pass(
    emulator: EmulatorAdmin, twilio_account: TwilioAccount
) -> None:
    """A Restricted key that can read but not write: the reads pass, but `check` cannot show that a
    provider would be provisioned, says that write permissions were not checked, and exits 3."""
    read_only = [
        "/twilio/trunking/trunks/read",
        "/twilio/api/sip/credential-lists/read",
        "/twilio/api/incoming-phone-numbers/read",
    ]
    key = emulator.add_api_key(twilio_account.sid, type="restricted", permissions=read_only)
    done = check(
        emulator,
        {
            "TWILIO_ACCOUNT_SID": twilio_account.sid,
            "TWILIO_API_KEY": key["sid"],
            "TWILIO_API_SECRET": key["secret"],
        },
    )
    assert done.returncode == 3, done.stdout + done.stderr
    found = rows(done.stdout)
    assert found["writePermissions"] == "unknown" and found["sipTrunkingAccess"] == "passed"
    assert "was not checked" in done.stdout
    assert "could not be shown to work" in done.stderr
    assert key["secret"] not in done.stdout + done.stderr


def test_a_malformed_token_is_called_malformed(
    emulator: EmulatorAdmin, twilio_account: TwilioAccount
) -> None:
    done = check(emulator, {"TWILIO_ACCOUNT_SID": twilio_account.sid, "TWILIO_AUTH_TOKEN": "Bad-Token-123"})
    assert done.returncode == 2
    assert "TWILIO_AUTH_TOKEN is malformed" in done.stderr and "no Auth Token" not in done.stderr
    assert "Bad-Token-123" not in done.stderr


def test_ip_access_control_says_what_it_would_require(
    emulator: EmulatorAdmin, twilio_account: TwilioAccount
) -> None:
    env = {"TWILIO_ACCOUNT_SID": twilio_account.sid, "TWILIO_AUTH_TOKEN": twilio_account.auth_token}
    done = check(
        emulator,
        env,
        "--ip-access-control",
        "198.51.100.0/24,203.0.113.5",
        "--origination-uri",
        "sip:192.0.2.10;transport=tcp",
    )

    assert done.returncode == 0, done.stdout + done.stderr  # a warning, not a failure
    assert rows(done.stdout)["ipAccessControlAdmission"] == "warning"
    line = next(row for row in done.stdout.splitlines() if row.startswith("ipAccessControlAdmission"))
    assert "192.0.2.10 receives this trunk's calls" in line and "198.51.100.0/24, 203.0.113.5" in line

    refused = check(emulator, env, "--ip-access-control", "10.0.0.0/7")
    assert refused.returncode == 2 and "prefix length" in refused.stderr


def test_whether_the_account_can_buy_numbers_is_a_warning_not_a_failure(
    emulator: EmulatorAdmin, twilio_account: TwilioAccount
) -> None:
    """Issue 27: a trial account that holds its one number, or an empty balance, cannot buy with
    spec.purchase; a provider is still provisioned, so the exit code stays 0. Reads only."""
    env = {"TWILIO_ACCOUNT_SID": twilio_account.sid, "TWILIO_AUTH_TOKEN": twilio_account.auth_token}
    emulator.patch_account(twilio_account.sid, type="Trial")  # the fixture's account holds two numbers
    seq = last_seq(emulator)
    done = check(emulator, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert rows(done.stdout)["numberPurchase"] == "warning"
    assert "TrialNumberLimit (Twilio error 10002)" in done.stdout

    fresh = TwilioAccount.create(emulator, type="Trial", api_keys=[{}])  # no number yet, the trial balance
    done = check(emulator, {"TWILIO_ACCOUNT_SID": fresh.sid, "TWILIO_AUTH_TOKEN": fresh.auth_token})
    assert rows(done.stdout)["numberPurchase"] == "passed"
    assert "balance 15.50 USD: the account can buy one number (trial account)" in done.stdout

    emulator.patch_account(twilio_account.sid, type="Full", balance="0.00")
    done = check(emulator, env)
    assert done.returncode == 0 and rows(done.stdout)["numberPurchase"] == "warning"
    assert "the balance is 0.00 USD" in done.stdout
    assert all(not r["write"] for r in emulator.requests(since=seq))
