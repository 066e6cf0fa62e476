"""The one rendering layer: domain data in, Block Kit and text out.

`blocks` holds the primitives (Slack's limits, mrkdwn escaping, links, the
terminal renderer); each feature's module here turns that feature's domain
data into messages, modals and Home tabs, for Slack, the digest and the CLI
alike. Domain code (`bot/<feature>/`) returns data and never builds blocks.
"""
