#include "mocks/mocks.h"

// Out-of-line constructors and destructors keep gmock's heavy code in one translation unit.
namespace authfcgi::testing {

MockUserRepository::MockUserRepository() = default;
MockUserRepository::~MockUserRepository() = default;
MockSessionStore::MockSessionStore() = default;
MockSessionStore::~MockSessionStore() = default;
MockRememberTokenStore::MockRememberTokenStore() = default;
MockRememberTokenStore::~MockRememberTokenStore() = default;
MockPasswordHasher::MockPasswordHasher() = default;
MockPasswordHasher::~MockPasswordHasher() = default;
MockAuthEventSink::MockAuthEventSink() = default;
MockAuthEventSink::~MockAuthEventSink() = default;

}  // namespace authfcgi::testing
