Feature: Logout
  In order to leave nothing usable behind on a device
  As a logged-in user
  I want logging out to end my session and every token of it

  Background:
    Given Ada has logged in

  Scenario: Logging out ends the session and its tokens
    When she logs out
    Then she is logged out
    And her access token no longer opens her profile
    And her refresh token can no longer be exchanged

  Scenario: Logging out ends only the session she logs out of
    Given she has also logged in on another device
    When she logs out
    Then she is logged out
    But her other device's access token still opens her profile
    And her other device's refresh token still buys a new pair of tokens

  Scenario: Logging out twice is refused
    Given she has logged out
    When she logs out
    Then her token is refused as invalid

  Scenario: Logging out needs a token
    When someone logs out without a token
    Then the request is refused as unauthenticated
