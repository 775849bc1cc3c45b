Feature: Second factor
  In order that a stolen password alone does not open my account
  As a user who cares about her account
  I want to log in with a code from my authenticator app as well

  Scenario: Adding an authenticator app brings recovery codes
    Given Ada has logged in
    When she adds an authenticator app and confirms it with its first code
    Then she receives ten recovery codes
    And her authenticator app is listed among her second factors

  Scenario: Logging in asks for the code after the password
    Given Ada has added an authenticator app
    When she logs in
    Then she is asked for a second factor and given no tokens
    When she gives the code her app shows
    Then she is logged in with two factors

  Scenario: A code works only once
    Given Ada has logged in with a code from her app
    When she logs in with the same code again
    Then the code is refused as already used

  Scenario: A recovery code stands in for the app, once
    Given Ada has added an authenticator app
    When she logs in with one of her recovery codes
    Then she is logged in with a recovery code
    When she logs in with the same recovery code again
    Then the code is refused

  Scenario: Sensitive changes ask for a fresh code first
    Given Ada has added an authenticator app
    When she asks for new recovery codes
    Then she is asked to authenticate again with a second factor
    When she authenticates again with the code her app shows
    And she asks for new recovery codes
    Then she receives ten recovery codes

  Scenario: Removing the app lets the password alone log in again
    Given Ada has added an authenticator app
    And she has authenticated again with the code her app shows
    When she removes her authenticator app
    Then she logs in with her password alone
