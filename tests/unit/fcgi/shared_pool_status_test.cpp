#include "fcgi/shared_pool_status.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace authfcgi::fcgi {
namespace {

using domain::PoolEvent;

// Each SharedPoolStatus opens the segment itself, and its slot lock belongs to that open: two
// of them in one test are two worker processes as far as the segment can tell.
class SharedPoolStatusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    address_ = "/test/pool-" + std::to_string(::getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ::shm_unlink(SharedPoolStatus::segment_name(address_).c_str());
  }
  void TearDown() override { ::shm_unlink(SharedPoolStatus::segment_name(address_).c_str()); }

  std::unique_ptr<SharedPoolStatus> attach(unsigned threads, std::int64_t now = 1000) {
    return std::make_unique<SharedPoolStatus>(address_, threads, now);
  }

  std::string address_;
};

TEST_F(SharedPoolStatusTest, EveryProcessOfThePoolSeesTheRequestsOfAll) {
  auto first = attach(4);
  auto second = attach(2);
  first->request_started();
  first->request_finished(200);
  second->request_started();
  second->request_finished(302);
  second->request_started();
  second->request_finished(503);

  for (const auto* reader : {first.get(), second.get()}) {
    const auto status = reader->read();
    EXPECT_EQ(status.pool, address_);
    EXPECT_EQ(status.processes, 2U);
    EXPECT_EQ(status.threads, 6U);
    EXPECT_EQ(status.accepted, 3U);
    EXPECT_EQ(status.responses[1], 1U);  // 2xx
    EXPECT_EQ(status.responses[2], 1U);  // 3xx
    EXPECT_EQ(status.responses[4], 1U);  // 5xx
    EXPECT_EQ(status.active_threads, 0U);
  }
}

TEST_F(SharedPoolStatusTest, ActiveThreadsAndTheirHighestCountAreThePools) {
  auto first = attach(4);
  auto second = attach(4);
  first->request_started();
  second->request_started();
  second->request_started();
  auto status = first->read();
  EXPECT_EQ(status.active_threads, 3U);
  EXPECT_EQ(status.max_active_threads, 3U);
  first->request_finished(200);
  second->request_finished(200);
  status = second->read();
  EXPECT_EQ(status.active_threads, 1U);
  EXPECT_EQ(status.max_active_threads, 3U);
}

TEST_F(SharedPoolStatusTest, EventsAreCountedForThePool) {
  auto first = attach(2);
  auto second = attach(2);
  first->count(PoolEvent::LoginOk);
  second->count(PoolEvent::LoginOk);
  second->count(PoolEvent::VerifyForbidden);
  const auto status = first->read();
  EXPECT_EQ(status.event(PoolEvent::LoginOk), 2U);
  EXPECT_EQ(status.event(PoolEvent::VerifyForbidden), 1U);
  EXPECT_EQ(status.event(PoolEvent::LoginFailed), 0U);
}

TEST_F(SharedPoolStatusTest, AProcessThatEndsLeavesItsCountsButNotItsThreads) {
  auto staying = attach(4);
  auto leaving = attach(4);
  leaving->request_started();
  leaving->request_finished(200);
  leaving->request_started();  // still in flight when the process goes
  leaving.reset();
  const auto status = staying->read();
  EXPECT_EQ(status.processes, 1U);
  EXPECT_EQ(status.threads, 4U);
  EXPECT_EQ(status.active_threads, 0U);
  EXPECT_EQ(status.accepted, 2U);
  EXPECT_EQ(status.responses[1], 1U);
}

TEST_F(SharedPoolStatusTest, AProcessStartedIntoARunningPoolCountsOn) {
  auto staying = attach(2, 1000);
  auto leaving = attach(2, 1000);
  leaving->request_started();
  leaving->request_finished(200);
  leaving.reset();
  auto replacement = attach(2, 5000);
  replacement->request_started();
  replacement->request_finished(200);
  const auto status = staying->read();
  EXPECT_EQ(status.start_time, 1000);
  EXPECT_EQ(status.processes, 2U);
  EXPECT_EQ(status.accepted, 2U);
}

TEST_F(SharedPoolStatusTest, APoolStartedAgainAfterEveryProcessEndedStartsFromZero) {
  {
    auto old_pool = attach(2, 1000);
    old_pool->request_started();
    old_pool->request_finished(200);
  }
  auto new_pool = attach(2, 9000);
  const auto status = new_pool->read();
  EXPECT_EQ(status.start_time, 9000);
  EXPECT_EQ(status.accepted, 0U);
  EXPECT_EQ(status.processes, 1U);
}

bool segment_exists(const std::string& address) {
  const int fd = ::shm_open(SharedPoolStatus::segment_name(address).c_str(), O_RDONLY, 0);
  if (fd < 0) {
    return false;
  }
  ::close(fd);
  return true;
}

TEST_F(SharedPoolStatusTest, TheLastProcessToLeaveRemovesTheSegment) {
  auto first = attach(2);
  auto second = attach(2);
  EXPECT_TRUE(segment_exists(address_));
  first.reset();
  EXPECT_TRUE(segment_exists(address_)) << "the pool still runs";
  second->request_started();
  second->request_finished(200);
  EXPECT_EQ(second->read().accepted, 1U);
  second.reset();
  EXPECT_FALSE(segment_exists(address_)) << "nothing left behind in /dev/shm";
  auto again = attach(2, 5000);
  EXPECT_TRUE(segment_exists(address_));
  EXPECT_EQ(again->read().start_time, 5000);
}

TEST_F(SharedPoolStatusTest, ASegmentOthersCanWriteIsRefused) {
  const std::string name = SharedPoolStatus::segment_name(address_);
  const int fd = ::shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::fchmod(fd, 0666), 0);
  ::close(fd);
  EXPECT_THROW(attach(2), std::runtime_error);
}

TEST_F(SharedPoolStatusTest, ASegmentOfAnotherLayoutIsRefused) {
  const std::string name = SharedPoolStatus::segment_name(address_);
  const int fd = ::shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, 100), 0);
  ::close(fd);
  EXPECT_THROW(attach(2), std::runtime_error);
}

TEST_F(SharedPoolStatusTest, TheSegmentIsReadableByItsOwnerOnly) {
  auto pool = attach(2);
  struct stat info {};
  const int fd = ::shm_open(SharedPoolStatus::segment_name(address_).c_str(), O_RDONLY, 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::fstat(fd, &info), 0);
  ::close(fd);
  EXPECT_EQ(info.st_mode & 077, 0U);
  EXPECT_EQ(info.st_uid, ::geteuid());
}

TEST(SharedPoolStatusNames, DifferentSocketsHaveDifferentSegments) {
  EXPECT_NE(SharedPoolStatus::segment_name("/run/authfcgi/authfcgi.sock"),
            SharedPoolStatus::segment_name("127.0.0.1:9009"));
  EXPECT_EQ(SharedPoolStatus::segment_name("/run/a.sock"),
            SharedPoolStatus::segment_name("/run/a.sock"));
}

}  // namespace
}  // namespace authfcgi::fcgi
