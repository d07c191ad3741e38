# frozen_string_literal: true

require_relative "version"

module Forumsync
  # GET /forumsync/capabilities.json: lets forumsync find out what this forum can do.
  class CapabilitiesBuilder
    FEATURES = %w[staged_posts post_files message_id_lookup category_fields].freeze

    def initialize(version: VERSION, features: FEATURES)
      @version = version
      @features = features
    end

    def build
      { "plugin" => PLUGIN_NAME, "version" => @version, "features" => @features.dup }
    end
  end
end
