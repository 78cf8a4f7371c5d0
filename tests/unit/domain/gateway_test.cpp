#include "domain/gateway.h"

#include <gtest/gtest.h>

namespace authfcgi::domain {
namespace {

CurrentUser member_of(std::vector<std::string> groups, bool confirmed = true) {
  return {7, "ann@example.com", "ann", std::move(groups), confirmed};
}

TEST(GroupName, LettersDigitsDotsUnderscoresAndDashesUpTo64) {
  EXPECT_TRUE(is_valid_group_name("admins"));
  EXPECT_TRUE(is_valid_group_name("team-a.ops_2"));
  EXPECT_TRUE(is_valid_group_name(std::string(64, 'g')));
  EXPECT_FALSE(is_valid_group_name(""));
  EXPECT_FALSE(is_valid_group_name(std::string(65, 'g')));
  EXPECT_FALSE(is_valid_group_name("admins,staff")) << "locations list groups with commas";
  EXPECT_FALSE(is_valid_group_name("ad mins"));
  EXPECT_FALSE(is_valid_group_name("adm\xc3\xafns"));
  EXPECT_FALSE(is_valid_group_name("admins\n"));
}

TEST(GatewayRule, NoRequiredGroupLetsAnyLoggedInUserPass) {
  EXPECT_TRUE(passes(member_of({}), ""));
  EXPECT_TRUE(passes(member_of({}), "  "));
}

TEST(GatewayRule, AnyOneOfTheListedGroupsWillDo) {
  EXPECT_TRUE(passes(member_of({"staff"}), "admins,staff"));
  EXPECT_TRUE(passes(member_of({"admins"}), " admins , staff "));
  EXPECT_FALSE(passes(member_of({"users"}), "admins,staff"));
  EXPECT_FALSE(passes(member_of({}), "admins"));
}

TEST(GatewayRule, GroupsCompareExactly) {
  EXPECT_FALSE(passes(member_of({"Admins"}), "admins"));
  EXPECT_FALSE(passes(member_of({"admins"}), "admin"));
}

TEST(GatewayRule, AListThatNamesNoGroupLetsNobodyPass) {
  EXPECT_FALSE(passes(member_of({"admins"}), ","));
}

TEST(GatewayRule, AnUnconfirmedEmailNeverPasses) {
  EXPECT_FALSE(passes(member_of({"admins"}, false), ""));
  EXPECT_FALSE(passes(member_of({"admins"}, false), "admins"));
}

TEST(GatewayLogin, TheProtectedUriComesBackAsNext) {
  EXPECT_EQ(login_location("/private/x?y=1"), "/auth/login?next=%2Fprivate%2Fx%3Fy%3D1");
}

TEST(GatewayLogin, AnUnsafeUriIsNotANext) {
  EXPECT_EQ(login_location("//evil.example/"), "/auth/login");
  EXPECT_EQ(login_location("/\\evil.example"), "/auth/login");
  EXPECT_EQ(login_location("https://evil.example/"), "/auth/login");
  EXPECT_EQ(login_location(""), "/auth/login");
}

}  // namespace
}  // namespace authfcgi::domain
