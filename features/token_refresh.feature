Feature: Token refresh
  In order to stay logged in without typing my password again
  As a logged-in user
  I want to trade my refresh token for a new pair of tokens, each refresh token once

  Background:
    Given Ada has logged in

  Scenario: A refresh token buys a new pair of tokens
    When she refreshes her tokens
    Then she receives a new access token and a new refresh token
    And her new access token opens her profile

  Scenario: A refresh token is spent once it has been traded
    Given she has refreshed her tokens
    When she refreshes with her previous refresh token
    Then her token is refused as invalid

  @no_grace
  Scenario: Replaying a spent refresh token after the grace window ends the session
    Given she has refreshed her tokens
    When her previous refresh token is replayed after the grace window
    Then her token is refused as invalid
    And her newest refresh token can no longer be exchanged
    And her newest access token no longer opens her profile

  @grace_window
  Scenario: A retry within the grace window is refused but keeps the session
    Given she has refreshed her tokens
    When she refreshes with her previous refresh token
    Then her token is refused as invalid
    But her newest access token still opens her profile
    And her newest refresh token still buys a new pair of tokens

  Scenario Outline: Only a live refresh token can be traded
    When she refreshes with <token>
    Then her token is refused as invalid

    Examples: Wrong type
      | token            |
      | her access token |

    Examples: Malformed
      | token                        |
      | a string that is not a token |
      | her refresh token cut short  |

    Examples: Forged
      | token                                  |
      | a refresh token signed with another key |
      | an unsigned refresh token              |

    @minted
    Examples: Expired
      | token                    |
      | an expired refresh token |
