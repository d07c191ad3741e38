# frozen_string_literal: true

# name: discourse-forumsync
# about: Bridges a mailing list and Discourse (forumsync): posts as staged users by email, lookup by Message-ID, theme fields and lead banner on categories.
# version: 0.1.0
# authors: Club des utilisateurs Publik
# url: https://git.example.org/club-publik/forumsync/-/tree/main/plugin
# required_version: 3.2.0

enabled_site_setting :forumsync_enabled

register_asset "stylesheets/forumsync.scss"

require_relative "lib/forumsync/version"
require_relative "lib/forumsync/fields"
require_relative "lib/forumsync/engine"

after_initialize do
  %w[
    messages validating email_address message_id post_params post_serializer capabilities_builder
    refusal staged_user_resolver creator_options incoming_email_record post_files
    discourse_user_store post_lookup staged_post_creator batch_request
  ].each { |name| require_relative "lib/forumsync/#{name}" }
  require_relative "app/controllers/forumsync/capabilities_controller"
  require_relative "app/controllers/forumsync/posts_controller"
  require_relative "app/controllers/forumsync/batch_posts_controller"
  require_relative "app/controllers/forumsync/batch_users_controller"
  # config/routes.rb is loaded by the engine itself (lib/forumsync/engine.rb).

  # A scoped API key for forumsync (Admin → API → Keys → Granular, "forumsync"): the key's
  # user must still be an admin (the endpoints call ensure_admin).
  add_api_key_scope(:forumsync, Forumsync::API_KEY_SCOPES)

  register_category_custom_field_type(Forumsync::THEME_FIELD, :string)
  register_category_custom_field_type(Forumsync::LEAD_FIELD, :string)
  register_post_custom_field_type(Forumsync::MESSAGE_ID_FIELD, :string)
  Site.preloaded_category_custom_fields << Forumsync::THEME_FIELD
  Site.preloaded_category_custom_fields << Forumsync::LEAD_FIELD

  add_to_serializer(:basic_category, :forumsync_theme) { object.custom_fields[Forumsync::THEME_FIELD] }
  add_to_serializer(:basic_category, :forumsync_lead) { object.custom_fields[Forumsync::LEAD_FIELD] }
end
