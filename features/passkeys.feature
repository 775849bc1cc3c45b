Feature: Passkeys
  In order to sign in without a password, and to keep a phished password from opening my account
  As a user whose phone or laptop can keep a passkey
  I want to add a passkey to my account and sign in with it

  Scenario: Adding a passkey lists it among her passkeys
    Given Ada has logged in
    When she adds a passkey named "Laptop"
    Then her passkey "Laptop" is listed among her passkeys

  Scenario: Signing in with a passkey needs no email and no password
    Given Ada has added a passkey
    When she signs in with her passkey
    Then she is signed in with her passkey alone

  Scenario: A passkey that did not verify its user signs no one in
    Given Ada has added a passkey
    When she signs in with her passkey without unlocking it
    Then the passkey is refused and she is given no tokens

  Scenario: After the password, a passkey is the second factor
    Given Ada has added a passkey
    When she logs in
    Then she is asked for a second factor and given no tokens
    And her passkey is offered as a second factor
    When she answers with her passkey
    Then she is logged in with her password and her passkey

  Scenario: Recovery codes stand in for a lost passkey
    Given Ada has added a passkey
    And she has signed in with her passkey
    When she asks for new recovery codes
    Then she receives ten recovery codes
    When she logs in
    Then she is asked for a second factor and given no tokens
    And her recovery codes are offered as a second factor
    When she logs in with one of her recovery codes
    Then she is logged in with a recovery code

  Scenario: A user with an authenticator app adds a passkey only after a fresh code
    Given Ada has added an authenticator app
    When she adds a passkey named "Phone"
    Then she is asked to authenticate again with a second factor
    When she authenticates again with the code her app shows
    And she adds a passkey named "Phone"
    Then her passkey "Phone" is listed among her passkeys

  Scenario: Removing a passkey asks for a fresh second factor first, and the passkey is one
    Given Ada has added a passkey
    When she removes her passkey
    Then she is asked to authenticate again with a second factor
    When she authenticates again with her passkey
    Then she is still in the session she started with her password
    When she removes her passkey
    Then she has no passkeys left
    And her passkey no longer signs her in
    And she logs in with her password alone
