Feature: Token revocation
  In order to end a session when all I hold is one of its tokens
  As a client of the API
  I want to revoke a token and have its session end

  Background:
    Given Ada has logged in

  Scenario Outline: Revoking one of her tokens ends her session
    When she revokes <token>
    Then the revocation is accepted
    And her access token no longer opens her profile
    And her refresh token can no longer be exchanged

    Examples:
      | token             |
      | her access token  |
      | her refresh token |

  Scenario: Revoking a token of a session that was logged out is still accepted
    Given she has logged out
    When she revokes her refresh token
    Then the revocation is accepted

  Scenario Outline: Revoking anything else is accepted and ends nothing
    When she revokes <token>
    Then the revocation is accepted
    And her access token still opens her profile

    Examples:
      | token                                  |
      | a string that is not a token           |
      | an access token signed with another key |
