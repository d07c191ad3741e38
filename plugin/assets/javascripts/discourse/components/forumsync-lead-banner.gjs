import Component from "@glimmer/component";
import { i18n } from "discourse-i18n";

// « Thème animé par {lead} » above the topic list of a category provisioned by forumsync.
export default class ForumsyncLeadBanner extends Component {
  get lead() {
    return this.args.outletArgs?.category?.forumsync_lead;
  }

  <template>
    {{#if this.lead}}
      <div class="forumsync-lead-banner" title={{i18n "forumsync.lead_banner_title"}}>
        {{i18n "forumsync.lead_banner" lead=this.lead}}
      </div>
    {{/if}}
  </template>
}
