# frozen_string_literal: true

module ::Forumsync
  # POST /forumsync/users/by-email.json {"emails": [...]}: the users of up to
  # BatchRequest::MAX_EMAILS addresses (primary email), each as an item of
  # GET /admin/users/list/all.json?email= shows it, null for nobody. Publishing a backlog then
  # costs one lookup request per batch instead of one per sender (capability users_by_email).
  class BatchUsersController < ::ApplicationController
    requires_plugin PLUGIN_NAME
    skip_before_action :check_xhr
    before_action :ensure_admin

    def create
      emails, errors = BatchRequest.emails(params[:emails], locale: I18n.locale)
      return render json: PostSerializer.errors(errors), status: :unprocessable_entity if errors.any?

      found = ::UserEmail.where(email: emails, primary: true).includes(:user).to_h { |row| [row.email, row.user] }
      users = emails.to_h do |email|
        user = found[email]
        [email, user && ::AdminUserListSerializer.new(user, scope: guardian, root: false).as_json]
      end
      render json: { "users" => users }
    end
  end
end
