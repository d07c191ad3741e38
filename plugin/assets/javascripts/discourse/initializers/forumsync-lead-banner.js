import { apiInitializer } from "discourse/lib/api";
import ForumsyncLeadBanner from "../components/forumsync-lead-banner";

export default apiInitializer("1.8.0", (api) => {
  const siteSettings = api.container.lookup("service:site-settings");
  if (!siteSettings.forumsync_enabled) {
    return;
  }
  api.renderInOutlet("discovery-list-container-top", ForumsyncLeadBanner);
});
