"""The rule book of administration: roles (三权分立), approvals, the admin API and console."""
