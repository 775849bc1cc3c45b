Feature: Cross-site request refusal
  In order that no other site can act with my browser session
  As a user of a browser app
  I want requests without my session's CSRF token, or from pages the API does not serve, refused

  Background:
    Given Ada has logged in from the browser app

  Scenario Outline: A request without her session's CSRF token changes nothing
    When a page <action> her browser session <how>
    Then the request is refused as forbidden
    And her browser session still works

    Examples: Refresh
      | action    | how                               |
      | refreshes | without the CSRF token            |
      | refreshes | with another session's CSRF token |
      | refreshes | with a made-up CSRF token         |

    Examples: Logout
      | action      | how                               |
      | logs out of | without the CSRF token            |
      | logs out of | with another session's CSRF token |

  Scenario Outline: A page on another site is refused even with the CSRF token
    When a page on another site <action> her browser session
    Then the request is refused as forbidden
    And her browser session still works

    Examples:
      | action      |
      | refreshes   |
      | logs out of |

  Scenario: A page on another site cannot log her in
    When a page on another site logs her in from the browser app
    Then the request is refused as forbidden
