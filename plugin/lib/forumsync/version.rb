# frozen_string_literal: true

module Forumsync
  PLUGIN_NAME = "discourse-forumsync"
  VERSION = "0.1.0"
end
