#include "domain/pool_status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fakes/fake_pool.h"
#include "mocks/mocks.h"

namespace authfcgi::domain {
namespace {

TEST(CountingEventSink, CountsTheLoginsAndRestoresAndPassesEveryEventOn) {
  testing::FakePool pool;
  ::testing::StrictMock<testing::MockAuthEventSink> log;
  EXPECT_CALL(log, record(::testing::_)).Times(6);
  CountingEventSink sink(log, pool);
  for (const auto kind :
       {AuthEventKind::LoginOk, AuthEventKind::LoginFailed, AuthEventKind::LoginFailed,
        AuthEventKind::LoginThrottled, AuthEventKind::RememberTokenUsed, AuthEventKind::Logout}) {
    sink.record(AuthEvent{kind, 1, "203.0.113.7", "ann@example.com"});
  }
  EXPECT_EQ(pool.status.event(PoolEvent::LoginOk), 1U);
  EXPECT_EQ(pool.status.event(PoolEvent::LoginFailed), 2U);
  EXPECT_EQ(pool.status.event(PoolEvent::LoginThrottled), 1U);
  EXPECT_EQ(pool.status.event(PoolEvent::RememberRestore), 1U);
}

}  // namespace
}  // namespace authfcgi::domain
