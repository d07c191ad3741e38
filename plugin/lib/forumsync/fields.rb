# frozen_string_literal: true

module Forumsync
  # Custom fields the plugin registers (names shared with forumsync's provisioning).
  THEME_FIELD = "forumsync_theme"       # category: the theme slug in forumsync's settings
  LEAD_FIELD = "forumsync_lead"         # category: the lead collectivity, shown in the banner
  MESSAGE_ID_FIELD = "forumsync_message_id" # post: the list message's Message-ID (no <>)

  # add_api_key_scope(:forumsync, API_KEY_SCOPES) in plugin.rb: what a granular API key may
  # be given for forumsync's own endpoints ("controller#action" of the engine's routes).
  API_KEY_SCOPES = {
    post_messages: { actions: %w[forumsync/posts#create forumsync/batch_posts#create] },
    read_messages: { actions: %w[forumsync/posts#by_message_id forumsync/capabilities#show forumsync/batch_users#create] },
  }.freeze
end
