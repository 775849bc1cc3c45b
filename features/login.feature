Feature: Login
  In order to use the API as myself
  As a registered user
  I want to exchange my email and password for an access token and a refresh token

  Background:
    Given Ada has registered

  Scenario: Valid credentials start a session
    When she logs in
    Then she receives an access token and a refresh token
    And the tokens are marked never to be stored

  Scenario Outline: Her email address is recognised however she spells it
    When she logs in with her email written <spelling>
    Then she receives an access token and a refresh token

    Examples: Case and surrounding whitespace
      | spelling                |
      | in upper case           |
      | with surrounding spaces |

  Scenario: Her phone still gets in once guessers have locked her network out
    Given she has logged in on her phone
    And someone on her network has guessed her password wrong until refused
    When she logs in on her phone
    Then she receives an access token and a refresh token

  Scenario: A device she never logged in on is locked out with her network
    Given she has logged in on her phone
    And someone on her network has guessed her password wrong until refused
    When she logs in
    Then her login is refused as too many attempts

  Scenario: A wrong password is refused
    When she logs in with the wrong password
    Then her request is refused as unauthenticated

  Scenario: An unknown email is refused exactly like a wrong password
    Given she has been refused for a wrong password
    When someone logs in with an email nobody registered
    Then the refusal is the same as for her wrong password

  Scenario Outline: An incomplete login is refused as invalid
    When someone logs in without <missing>
    Then the login is refused as invalid, naming the <field>

    Examples: Missing credentials
      | missing    | field    |
      | an email   | email    |
      | a password | password |
