"""Site, tags, uploads and site settings over real HTTP."""
import pytest
import requests

from tests.localforum.openapi import SpecClient

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture
def api(localforum):
    return SpecClient(localforum)


def test_site_has_flat_categories(api, localforum):
    parent = localforum.create_category("Club Publik")
    child = localforum.create_category("SVE", parent=parent["id"])
    site = api.get("/site.json").json()
    by_id = {c["id"]: c for c in site["categories"]}
    assert by_id[child["id"]]["parent_category_id"] == parent["id"]
    assert "parent_category_id" not in by_id[parent["id"]]
    assert site["post_types"]["whisper"] == 4


def test_tags(api, localforum):
    category = localforum.create_category("Club")
    api.post("/posts.json", json={"title": "Sujet avec deux étiquettes", "raw": "Un message étiqueté deux fois.",
                                  "category": category["id"], "tags": ["sve", "famille"]})
    api.post("/posts.json", json={"title": "Sujet avec une étiquette", "raw": "Un message étiqueté une fois.",
                                  "category": category["id"], "tags": ["sve"]})
    tags = {t["name"]: t["count"] for t in api.get("/tags.json").json()["tags"]}
    assert tags == {"famille": 1, "sve": 2}


def test_upload_then_reference_it_in_a_post(api, localforum):
    response = api.post("/uploads.json", data={"type": "composer", "synchronous": "true"},
                        files={"file": ("schéma.png", PNG, "image/png")})
    upload = response.json()
    assert upload["original_filename"] == "schéma.png"
    assert upload["filesize"] == len(PNG) and upload["extension"] == "png"
    assert upload["short_url"].startswith("upload://") and upload["short_url"].endswith(".png")
    served = requests.get(localforum.url + upload["url"], timeout=10)
    assert served.content == PNG and served.headers["Content-Type"] == "image/png"
    short = requests.get(localforum.url + upload["short_path"], timeout=10)
    assert short.content == PNG
    category = localforum.create_category("Club")
    post = api.post("/posts.json", json={"title": "Sujet avec une image", "category": category["id"],
                                         "raw": f"Voici le schéma : ![schéma]({upload['short_url']})"}).json()
    assert f'src="{upload["url"]}"' in post["cooked"]
    # same bytes → same upload (Discourse deduplicates by SHA1)
    again = api.post("/uploads.json", files={"file": ("autre.png", PNG, "image/png")}).json()
    assert again["id"] == upload["id"]


def test_site_settings(api, localforum):
    # outside the spec
    settings = api.get("/admin/site_settings.json", spec=False).json()["site_settings"]
    values = {s["setting"]: s["value"] for s in settings}
    assert values["enable_category_group_moderation"] == "false"
    assert values["min_topic_title_length"] == "15"  # Discourse's default
    response = api.put("/admin/site_settings/enable_category_group_moderation", spec=False,
                       data={"enable_category_group_moderation": "true"})
    assert response.status_code == 200
    localforum.client().site_settings(min_topic_title_length=12)  # query string, no .json
    values = {s["setting"]: s["value"] for s in
              api.get("/admin/site_settings.json", spec=False).json()["site_settings"]}
    assert values["enable_category_group_moderation"] == "true"
    assert values["min_topic_title_length"] == "12"
    unknown = api.put("/admin/site_settings/nope.json", spec=False, data={"nope": "1"})
    assert unknown.status_code == 422


def test_site_settings_filter_names_as_discourse_reads_them(api, localforum):
    """SiteSetting.all_settings keeps ``filter_names.include?(name)``: an array is exact names,
    a string every name it contains; the gateway reads several settings in one request."""
    def names(**params):
        return sorted(s["setting"] for s in api.get("/admin/site_settings.json", spec=False,
                                                   params=params).json()["site_settings"])

    assert names(**{"filter_names[]": ["min_post_length", "max_post_length", "nope"]}) == [
        "max_post_length", "min_post_length"]
    assert names(filter_names="min_first_post_length") == ["min_first_post_length"]
    assert "min_post_length" not in names(filter_names="min_first_post_length")  # not a substring
    assert names(filter_names="xmin_post_lengthx") == ["min_post_length"]  # a substring of it
    from forumsync.forum.gateway import ForumGateway

    gateway = ForumGateway(localforum.url, localforum.api_key, localforum.username, retries=0)
    before = localforum.requests.count_of("GET", "/admin/site_settings.json")
    assert gateway.site_settings_get(["min_post_length", "min_topic_title_length"]) == {
        "min_post_length": "20", "min_topic_title_length": "15"}
    assert localforum.requests.count_of("GET", "/admin/site_settings.json") == before + 1


def test_category_group_moderation(api, localforum):
    localforum.create_user("lead", "lead@meyzieu.fr")
    localforum.create_user("membre", "membre@example.org")
    group = localforum.create_group("animateurs-sve", usernames=["lead"])
    category = localforum.create_category("SVE", moderating_group_ids=[group["id"]])
    topic = api.post("/posts.json", json={"title": "Sujet de la catégorie SVE", "raw": "Un message dans la catégorie SVE.",
                                         "category": category["id"]}).json()
    lead = SpecClient(localforum, "lead")
    close = {"status": "closed", "enabled": "true"}
    assert lead.put(f"/t/{topic['topic_id']}/status.json", json=close).status_code == 403
    localforum.set_site_setting("enable_category_group_moderation", True)
    assert lead.put(f"/t/{topic['topic_id']}/status.json", json=close).status_code == 200
    assert lead.post("/posts.json", json={"topic_id": topic["topic_id"], "raw": "Le lead répond dans le sujet fermé."}
                     ).status_code == 200
    assert SpecClient(localforum, "membre").put(f"/t/{topic['topic_id']}/status.json",
                                                json=close).status_code == 403
