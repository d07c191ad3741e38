# frozen_string_literal: true

module ::Forumsync
  class CapabilitiesController < ::ApplicationController
    requires_plugin PLUGIN_NAME
    # forumsync reads this with its admin API key: nobody else needs to know the plugin is
    # there, and a forum with login_required shows nothing to the anonymous (the skip of
    # redirect_to_login_if_required made it readable there, eleventh red-team pass).
    skip_before_action :check_xhr
    before_action :ensure_admin

    def show
      render json: CapabilitiesBuilder.new(batch_max_posts: SiteSetting.forumsync_batch_max_posts).build
    end
  end
end
