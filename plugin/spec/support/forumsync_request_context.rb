# frozen_string_literal: true

# What every request spec of the plugin starts from inside Discourse: an admin, a user, a
# category, their API headers, and the plugin enabled with the French locale.
RSpec.shared_context "forumsync request" do
  fab!(:admin)
  fab!(:user)
  fab!(:category)

  let(:api_key) { Fabricate(:api_key, user: admin) }
  let(:admin_headers) { { "Api-Key" => api_key.key, "Api-Username" => admin.username } }
  let(:user_headers) do
    key = Fabricate(:api_key, user: user)
    { "Api-Key" => key.key, "Api-Username" => user.username }
  end

  before do
    SiteSetting.forumsync_enabled = true
    SiteSetting.default_locale = "fr"
  end
end
