# frozen_string_literal: true

module Forumsync
  # Custom fields the plugin registers (names shared with forumsync's provisioning).
  THEME_FIELD = "forumsync_theme"       # category: the theme slug in forumsync's settings
  LEAD_FIELD = "forumsync_lead"         # category: the lead collectivity, shown in the banner
  MESSAGE_ID_FIELD = "forumsync_message_id" # post: the list message's Message-ID (no <>)
end
