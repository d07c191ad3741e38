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
    messages validating message_id post_params post_serializer capabilities_builder staged_user_resolver
    post_files discourse_user_store post_lookup staged_post_creator
  ].each { |name| require_relative "lib/forumsync/#{name}" }
  require_relative "app/controllers/forumsync/capabilities_controller"
  require_relative "app/controllers/forumsync/posts_controller"
  require_relative "config/routes"

  register_category_custom_field_type(Forumsync::THEME_FIELD, :string)
  register_category_custom_field_type(Forumsync::LEAD_FIELD, :string)
  register_post_custom_field_type(Forumsync::MESSAGE_ID_FIELD, :string)
  Site.preloaded_category_custom_fields << Forumsync::THEME_FIELD
  Site.preloaded_category_custom_fields << Forumsync::LEAD_FIELD

  add_to_serializer(:basic_category, :forumsync_theme) { object.custom_fields[Forumsync::THEME_FIELD] }
  add_to_serializer(:basic_category, :forumsync_lead) { object.custom_fields[Forumsync::LEAD_FIELD] }
end
