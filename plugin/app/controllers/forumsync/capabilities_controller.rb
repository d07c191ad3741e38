# frozen_string_literal: true

module ::Forumsync
  class CapabilitiesController < ::ApplicationController
    requires_plugin PLUGIN_NAME
    skip_before_action :check_xhr, :redirect_to_login_if_required

    def show
      render json: CapabilitiesBuilder.new(batch_max_posts: SiteSetting.forumsync_batch_max_posts).build
    end
  end
end
