Feature: Token introspection
  In order to honour a logout the moment it happens
  As a resource server that receives the API's access tokens
  I want to ask the API whether a token is valid right now

  Background:
    Given Ada has logged in

  Scenario: A live access token is active
    When the resource server introspects her access token
    Then the token is active as her access token

  Scenario: A refresh token, even a live one, is inactive to a resource server
    When the resource server introspects her refresh token
    Then the token is inactive

  Scenario: A logout makes her tokens inactive at once
    Given she has logged out
    When the resource server introspects her access token
    Then the token is inactive

  Scenario: A refreshed session's new access token is active
    Given she has refreshed her tokens
    When the resource server introspects her access token
    Then the token is active as her access token

  Scenario Outline: A token that is not valid right now is inactive
    When the resource server introspects <token>
    Then the token is inactive

    Examples: Malformed
      | token                        |
      | a string that is not a token |
      | her access token cut short   |

    Examples: Forged
      | token                                  |
      | an access token signed with another key |
      | an unsigned access token               |

    @minted
    Examples: Expired
      | token                   |
      | an expired access token |

  Scenario Outline: Only listed resource servers may introspect
    When a stranger introspects her access token <how>
    Then the stranger is refused as an unknown client

    Examples:
      | how                    |
      | without credentials    |
      | with wrong credentials |
