# frozen_string_literal: true

module ::Forumsync
  class Engine < ::Rails::Engine
    engine_name PLUGIN_NAME
    isolate_namespace Forumsync
  end
end
