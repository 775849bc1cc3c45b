Feature: Protected profile
  In order to see what the service holds about me
  As a logged-in user
  I want my access token, and only a live one, to open my profile

  Scenario: Her access token opens her profile
    Given Ada has logged in
    When she reads her profile
    Then she sees her own account data

  Scenario: Without a token the profile stays closed
    When someone reads the profile without a token
    Then the request is refused as unauthenticated

  Scenario Outline: Only a live access token opens the profile
    Given Ada has logged in
    When she reads her profile with <token>
    Then her token is refused as invalid

    Examples: Wrong type
      | token             |
      | her refresh token |

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
