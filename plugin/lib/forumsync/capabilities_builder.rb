# frozen_string_literal: true

require_relative "version"

module Forumsync
  # GET /forumsync/capabilities.json: lets forumsync find out what this forum can do.
  class CapabilitiesBuilder
    FEATURES = %w[staged_posts post_files message_id_lookup category_fields batch_posts users_by_email
                  username_hint].freeze
    DEFAULT_BATCH_MAX_POSTS = 100 # config/settings.yml forumsync_batch_max_posts

    def initialize(version: VERSION, features: FEATURES, batch_max_posts: DEFAULT_BATCH_MAX_POSTS)
      @version = version
      @features = features
      @batch_max_posts = batch_max_posts
    end

    def build
      { "plugin" => PLUGIN_NAME, "version" => @version, "features" => @features.dup,
        "batch_max_posts" => @batch_max_posts }
    end
  end
end
