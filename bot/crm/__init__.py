"""KPIs and SLA alerts from the CRM: HubSpot and Salesforce connectors (their vendors' own
clients), a resumable daily sync, stage mapping through /lead-def, and exactly-once alerts."""
