"""The kinds the cockpit ships: importing each module registers its kind, in this order (the order
of docs, messages and `kind` choices). A new kind is one module plus one line here."""
# isort: skip_file

import cockpit.kinds.step_ssh
import cockpit.kinds.step_local
import cockpit.kinds.step_slack
import cockpit.kinds.step_email
import cockpit.kinds.step_jira
import cockpit.kinds.step_manual
import cockpit.kinds.step_ansible
import cockpit.kinds.step_silence
import cockpit.kinds.step_annotate
import cockpit.kinds.source_prometheus
import cockpit.kinds.source_http
import cockpit.kinds.source_ssh
import cockpit.kinds.source_alertmanager  # noqa: F401
